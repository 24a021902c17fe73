#!/usr/bin/env python3
"""Writes chat_templates.json: chat templates rendered by jinja2 exactly the way
Hugging Face transformers' apply_chat_template renders them, as an independent
reference for Swiftlet's pure-Swift Jinja renderer (ChatTemplate).

transformers compiles templates with
    ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                  extensions=[AssistantTracker, jinja2.ext.loopcontrols])
    filters["tojson"] = json.dumps-based tojson (ensure_ascii=False, ...)
    globals["raise_exception"], globals["strftime_now"]
and renders with messages=..., tools=None, documents=None, add_generation_prompt=...,
plus the special tokens (bos_token, eos_token, ...). We mirror that, except
strftime_now (today's date would make goldens non-deterministic; Swiftlet leaves
it undefined and templates fall back via `strftime_now is defined`).

Usage: python3 make_chat_template_goldens.py [path/to/SmolLM2.gguf]
"""
import json
import os
import sys

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_GGUF = os.path.expanduser("~/.cache/swiftlet/models/SmolLM2-135M-Instruct.Q4_1.gguf")  # scripts/fetch-model.sh


class GenerationTag(Extension):
    """transformers' AssistantTracker, minus the index tracking: {% generation %} renders its body."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def make_env():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[GenerationTag, jinja2.ext.loopcontrols]
    )
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    return env


def smollm2_template(path):
    from gguf import GGUFReader
    field = GGUFReader(path).fields["tokenizer.chat_template"]
    return bytes(field.parts[field.data[0]]).decode("utf-8")


# ---------------------------------------------------------------- templates

CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

LLAMA3 = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}"
    "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
)

LLAMA31 = """{{- bos_token }}
{%- if custom_tools is defined %}
    {%- set tools = custom_tools %}
{%- endif %}
{%- if not tools_in_user_message is defined %}
    {%- set tools_in_user_message = true %}
{%- endif %}
{%- if not date_string is defined %}
    {%- if strftime_now is defined %}
        {%- set date_string = strftime_now("%d %b %Y") %}
    {%- else %}
        {%- set date_string = "26 Jul 2024" %}
    {%- endif %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}

{#- This block extracts the system message, so we can slot it into the right place. #}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}

{#- System message #}
{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
{%- if tools is not none %}
    {{- "Environment: ipython\\n" }}
{%- endif %}
{{- "Cutting Knowledge Date: December 2023\\n" }}
{{- "Today Date: " + date_string + "\\n\\n" }}
{%- if tools is not none and not tools_in_user_message %}
    {{- "You have access to the following functions.\\n\\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\\n\\n" }}
    {%- endfor %}
{%- endif %}
{{- system_message }}
{{- "<|eot_id|>" }}

{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- set tool_call = message.tool_calls[0].function %}
        {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}
        {{- '{"name": "' + tool_call.name + '", "parameters": ' }}
        {{- tool_call.arguments | tojson }}
        {{- "}" }}
        {{- "<|eot_id|>" }}
    {%- elif message.role == "tool" or message.role == "ipython" %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\\n\\n" }}
        {%- if message.content is mapping or message.content is iterable %}
            {{- message.content | tojson }}
        {%- else %}
            {{- message.content }}
        {%- endif %}
        {{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
{%- endif %}
"""

ZEPHYR = """{% for message in messages %}
{% if message['role'] == 'user' %}
{{ '<|user|>
' + message['content'] + eos_token }}
{% elif message['role'] == 'system' %}
{{ '<|system|>
' + message['content'] + eos_token }}
{% elif message['role'] == 'assistant' %}
{{ '<|assistant|>
'  + message['content'] + eos_token }}
{% endif %}
{% if loop.last and add_generation_prompt %}
{{ '<|assistant|>' }}
{% endif %}
{% endfor %}"""

MISTRAL = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}"
    "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}"
)

MISTRAL_V3 = """{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content'] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set loop_messages = messages %}
{%- endif %}

{{- bos_token }}
{%- for message in loop_messages %}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
        {{- raise_exception('After the optional system message, conversation roles must alternate user/assistant/user/assistant/...') }}
    {%- endif %}
    {%- if message['role'] == 'user' %}
        {%- if loop.last and system_message is defined %}
            {{- '[INST] ' + system_message + '\\n\\n' + message['content'] + '[/INST]' }}
        {%- else %}
            {{- '[INST] ' + message['content'] + '[/INST]' }}
        {%- endif %}
    {%- elif message['role'] == 'assistant' %}
        {{- ' ' + message['content']|trim + eos_token}}
    {%- else %}
        {{- raise_exception('Only user and assistant roles are supported, with the exception of an initial optional system message!') }}
    {%- endif %}
{%- endfor %}
"""

GEMMA = """{{ bos_token }}
{%- set ns = namespace(system='', turns=0) -%}
{%- for message in messages -%}
    {%- if message['role'] == 'system' -%}
        {%- set ns.system = ns.system + message['content'] | trim + '\\n\\n' -%}
    {%- endif -%}
{%- endfor -%}
{%- for message in messages if message['role'] != 'system' -%}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
        {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}
    {%- endif -%}
    {%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}
    {%- set ns.turns = ns.turns + 1 -%}
    {{ '<start_of_turn>' + role + '\\n' + (ns.system if loop.first else '') }}
    {%- if message['content'] is string -%}
        {{ message['content'] | trim }}
    {%- else -%}
        {{ raise_exception("Invalid content type") }}
    {%- endif -%}
    {{ '<end_of_turn>\\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{'<start_of_turn>model\\n'}}
{%- endif -%}
{#- ns.turns survives the loop because ns is a namespace -#}
{{- '' if ns.turns > 0 else '<no turns>' -}}
"""

# Gemma 3's own template (google/gemma-3-*-it tokenizer_config.json): the
# system text goes before the first user turn, the assistant is "model".
GEMMA3 = """{{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
    {%- if messages[0]['content'] is string -%}
        {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}
    {%- else -%}
        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\n\n' -%}
    {%- endif -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set first_user_prefix = "" -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
        {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}
    {%- endif -%}
    {%- if (message['role'] == 'assistant') -%}
        {%- set role = "model" -%}
    {%- else -%}
        {%- set role = message['role'] -%}
    {%- endif -%}
    {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else "") }}
    {%- if message['content'] is string -%}
        {{ message['content'] | trim }}
    {%- elif message['content'] is iterable -%}
        {%- for item in message['content'] -%}
            {%- if item['type'] == 'image' -%}
                {{ '<start_of_image>' }}
            {%- elif item['type'] == 'text' -%}
                {{ item['text'] | trim }}
            {%- endif -%}
        {%- endfor -%}
    {%- else -%}
        {{ raise_exception("Invalid content type") }}
    {%- endif -%}
    {{ '<end_of_turn>\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{'<start_of_turn>model\n'}}
{%- endif -%}
"""

# Swiftlet's fallback for a Gemma vocabulary without a template
# (ChatTemplate.gemmaTurns): test_chat_templates.py checks that the real
# Gemma 3 file, which carries no template, renders what jinja2 renders here.
GEMMA_TURNS = (
    "{{ bos_token }}{% set ns = namespace(prefix='') %}{% for message in messages %}"
    "{% if message['role'] == 'system' %}{% set ns.prefix = ns.prefix + message['content'] | trim + '\n\n' %}"
    "{% else %}{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "{{ '<start_of_turn>' + role + '\n' + ns.prefix + message['content'] | trim + '<end_of_turn>\n' }}"
    "{% set ns.prefix = '' %}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)

PHI3 = (
    "{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\\n' + message['content'] + '<|end|>\\n'}}"
    "{% elif message['role'] == 'user' %}{{'<|user|>\\n' + message['content'] + '<|end|>\\n'}}"
    "{% elif message['role'] == 'assistant' %}{{'<|assistant|>\\n' + message['content'] + '<|end|>\\n'}}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% else %}{{ eos_token }}{% endif %}"
)

QWEN25 = """{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\\n\\n# Tools\\n\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools><|im_end|>\\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
    {%- else %}
        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- for tool_call in message.tool_calls %}
            {{- '\\n<tool_call>\\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' }}
        {{- message.content }}
        {{- '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""

QWEN3 = """{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- if ns.multi_step_tool and message.role == "user" and not(message.content.startswith('<tool_response>') and message.content.endswith('</tool_response>')) %}
        {%- set ns.multi_step_tool = false %}
        {%- set ns.last_query_index = index %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "system" %}
        {{- '<|im_start|>system\\n' + message.content + '<|im_end|>\\n' }}
    {%- elif message.role == "assistant" %}
        {%- set content = message.content %}
        {%- set reasoning_content = '' %}
        {%- if message.reasoning_content is defined and message.reasoning_content is not none %}
            {%- set reasoning_content = message.reasoning_content %}
        {%- else %}
            {%- if '</think>' in message.content %}
                {%- set content = message.content.split('</think>')[-1].lstrip('\\n') %}
                {%- set reasoning_content = message.content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') %}
            {%- endif %}
        {%- endif %}
        {%- if loop.index0 > ns.last_query_index %}
            {%- if loop.last or (not loop.last and reasoning_content) %}
                {{- '<|im_start|>' + message.role + '\\n<think>\\n' + reasoning_content.strip('\\n') + '\\n</think>\\n\\n' + content.lstrip('\\n') }}
            {%- else %}
                {{- '<|im_start|>' + message.role + '\\n' + content }}
            {%- endif %}
        {%- else %}
            {{- '<|im_start|>' + message.role + '\\n' + content }}
        {%- endif %}
        {{- '<|im_end|>\\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\\n\\n</think>\\n\\n' }}
    {%- endif %}
{%- endif %}"""

# Small templates that each pin down one part of the language.
FEATURES = {
    "ws_indented_blocks": """<start>
    {% for m in messages %}
        {% if m.role == 'user' %}
    U: {{ m.content }}
        {% else %}
    O: {{ m.content }}
        {% endif %}
    {% endfor %}
  {# a comment on its own line #}
<end>
""",
    "ws_dash_and_plus": "A  {%- if true %}  B {% endif -%}  C\n  {%+ if true %}D{% endif +%}\nE {{- ' F ' -}} G {#- c -#} H\n{# c +#}\nI\n\n",
    "ws_crlf_and_raw": "line1\r\n{% if true %}\r\nline2\r{% endif %}\r\n{% raw %}{{ not rendered }} {% if %}{% endraw %}\n  {%- raw -%}  kept  {%- endraw %}\nend",
    "ws_mixed": "a {% if true %}b{% endif %}\n\t{% if true %}\n\tc {{ 'd' }}\n{% endif %}\n  {# comment #}  x\n\u00a0 {%- if true %}y{% endif %}\n{{ 'e' }}   \n   {%- for i in [1] -%}  {{ i }}  {%- endfor %}\n  {% if true -%}\n  z\n  {%- endif %}\n{{- '|' }}\n    {%+ if true %}p{% endif %}\n",
    "ws_trailing_newlines": "{% for m in messages %}{{ m.role }}\n{% endfor %}\n\n",
    "loop_variables": "{% for m in messages %}{{ loop.index }}/{{ loop.length }} i0={{ loop.index0 }} first={{ loop.first }} last={{ loop.last }} rev={{ loop.revindex }},{{ loop.revindex0 }}{% if loop.previtem is defined %} prev={{ loop.previtem.role }}{% endif %}{% if loop.nextitem is defined %} next={{ loop.nextitem.role }}{% endif %}\n{% endfor %}",
    "loop_else_filter_nested": "{% for x in [] %}never{% else %}empty-else{% endfor %}|{% for m in messages if m.role != 'system' %}{{ loop.index }}:{{ m.role }}{% for c in m.role %}{% if loop.first %}[{{ c }}{% endif %}{% if loop.last %}{{ c }}]{% endif %}{% endfor %} {% endfor %}|{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}",
    "loop_break_continue": "{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i > 5 %}{% break %}{% endif %}{{ i }}{% endfor %}|{% for i in range(3) %}{% for j in range(3) %}{% if j > i %}{% break %}{% endif %}{{ i }}{{ j }} {% endfor %}{% endfor %}",
    "scoping": "{% set x = 'outer' %}{% set count = 0 %}{% for m in messages %}{% set x = 'inner' ~ loop.index %}{% set count = count + 1 %}[{{ x }},{{ count }}]{% endfor %} x={{ x }} count={{ count }}"
               "{% if true %}{% set leaked = 'if-sets-leak' %}{% endif %} {{ leaked }}"
               "{% set ns = namespace(n=0, names=[]) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{% set ns.names = ns.names + [m.role] %}{% endfor %} ns.n={{ ns.n }} names={{ ns.names | join(',') }}"
               "{% set a, b = 1, 2 %} a={{ a }} b={{ b }}{% set block %}captured {{ messages | length }}{% endset %} {{ block }}{% set up | upper %}shout{% endset %} {{ up }}",
    "arithmetic": "{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 7 / 2 }} {{ 10 / 5 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 'ab' * 3 }} {{ 3 * [0] }} {{ 1e3 }} {{ 0.1 + 0.2 }} {{ 1.5e-7 }} {{ 12345678901234567.0 }} {{ -3 }} {{ - (2 + 3) }} {{ 1_000 + 1 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ true + 1 }} {{ 10 - 2 - 3 }}",
    "comparisons_logic": "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 == 1.0 }} {{ 'a' != 'b' }} {{ 'b' >= 'a' }} {{ [1, 2] < [1, 3] }} {{ 'ell' in 'hello' }} {{ 'x' not in 'hello' }} {{ 2 in [1, 2] }} {{ 'role' in messages[0] }} {{ not messages }} {{ '' or 'fallback' }} {{ 'a' and 'b' }} {{ 0 or none }} {{ 'yes' if messages else 'no' }} [{{ 'never' if false }}] {{ not 1 == 2 }} {{ true and not false }}",
    "literals_printing": "{{ [1, 'a', \"it's\", none, true, 1.5, [2]] }} {{ {'k': 'v', 'n': {'x': none}} }} {{ (1, 2) | list }} {{ 'tab\\there' }} {{ '\\x41\\u00e9\\U0001F600\\\\' }} {{ 'adjacent' ' literals' }} {{ \"dq \\\"esc\\\"\" }} {{ 'a\\qb' }} {{ none }} {{ True }} {{ false }} {{ 'x' ~ 1 ~ none ~ true }}",
    "string_methods": "{% set s = '  Hello, World!  ' %}[{{ s.strip() }}][{{ s.lstrip() }}][{{ s.rstrip() }}][{{ 'xxhixx'.strip('x') }}][{{ s.upper() }}][{{ s.lower() }}][{{ 'hello wORLD it\\'s'.title() }}][{{ 'hELLO'.capitalize() }}]"
                      "[{{ 'a,b,,c'.split(',') }}][{{ ' a  b\\tc\\n'.split() }}][{{ 'a-b-c'.split('-', 1) }}][{{ 'abc'.startswith('ab') }}][{{ 'abc'.startswith(('x', 'a')) }}][{{ 'abc'.endswith('bc') }}]"
                      "[{{ 'aaa'.replace('a', 'b', 2) }}][{{ 'hello'.find('l') }}][{{ 'hello'.find('z') }}][{{ 'hello'.count('l') }}][{{ '-'.join(['x', 'y']) }}][{{ '42'.isdigit() }}][{{ 'abc'.isalpha() }}][{{ 'hello'[1:3] }}][{{ 'hello'[::-1] }}][{{ 'hello'[-1] }}]",
    "dict_methods": "{% set d = {'b': 2, 'a': 1} %}{{ d.get('a') }} {{ d.get('zz') }} {{ d.get('zz', 'dflt') }} {{ d.keys() | list }} {{ d.values() | list }} {% for k, v in d.items() %}({{ k }},{{ v }}){% endfor %} {% for k, v in d | items %}{{ k }}{{ v }}{% endfor %} {{ d['b'] }} {{ d.b }} {{ messages[0].get('role') }}",
    "filters_text": "[{{ '  pad  ' | trim }}][{{ 'xxpadxx' | trim('x') }}][{{ 'MiXeD' | lower }}][{{ 'MiXeD' | upper }}][{{ 'hello WORLD' | capitalize }}][{{ 'hello wORLD-foo (bar)' | title }}][{{ 'a.b.c' | replace('.', '/') }}][{{ 'aaa' | replace('a', 'b', 1) }}]"
                    "[{{ 42 | string }}][{{ '42' | int + 1 }}][{{ '4.7' | int }}][{{ 'x' | int }}][{{ 'x' | int(7) }}][{{ 3.9 | int }}][{{ '2.5' | float }}][{{ -5 | abs }}][{{ '<a href=\"x\">&' | escape }}][{{ 'line1\\nline2\\n\\nline4' | indent(2) }}][{{ 'a\\nb' | indent(first=true) }}]",
    "filters_sequences": "{% set nums = [3, 1, 2, 3] %}[{{ nums | length }}][{{ 'héllo' | length }}][{{ nums | first }}][{{ nums | last }}][{{ nums | join('-') }}][{{ nums | sort }}][{{ nums | sort(reverse=true) }}][{{ nums | unique | list }}][{{ nums | reverse | list }}][{{ 'abc' | reverse }}][{{ nums | sum }}][{{ nums | min }}][{{ nums | max }}]"
                         "[{{ ['b', 'A', 'c'] | sort }}][{{ ['b', 'A', 'c'] | sort(case_sensitive=true) }}][{{ messages | map(attribute='role') | join(',') }}][{{ messages | selectattr('role', 'equalto', 'user') | list | length }}][{{ messages | rejectattr('role', 'eq', 'user') | map(attribute='role') | list }}]"
                         "[{{ [0, 1, '', 'x', none] | select | list }}][{{ [1, 2, 3, 4] | select('odd') | list }}][{{ [1, 2, 3, 4] | reject('divisibleby', 2) | list }}][{{ ['a', 'b'] | map('upper') | list }}][{{ messages | map(attribute='missing', default='?') | join }}][{{ messages | sort(attribute='role') | map(attribute='role') | join(',') }}][{{ [] | first }}][{{ 'abc' | list }}]",
    "filters_tojson": "{{ messages[0] | tojson }}|{{ {'s': 'ünï \"q\" \\\\ \\n', 'n': [1, 2.5, true, none], 'e': {}, 'l': []} | tojson }}|{{ {'b': 1, 'a': [1, {'c': 2}]} | tojson(indent=2) }}|{{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }}|{{ 'é😀' | tojson(true) }}|{{ [1, 2] | tojson(separators=[',', ':']) }}|{{ {'a': 1} | tojson(indent='\\t') }}",
    "filters_default": "[{{ missing | default('d') }}][{{ '' | default('d') }}][{{ '' | default('d', true) }}][{{ none | default('d') }}][{{ none | d('d', true) }}][{{ messages[0].missing | default('m') }}][{{ missing | default }}]",
    "tests": "{{ messages is defined }} {{ nothing is defined }} {{ nothing is undefined }} {{ none is none }} {{ 'a' is string }} {{ 1 is string }} {{ 1 is number }} {{ 1.5 is float }} {{ 1 is integer }} {{ true is boolean }} {{ messages[0] is mapping }} {{ messages is iterable }} {{ messages is sequence }}"
             " {{ 4 is even }} {{ 3 is odd }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }} {{ 'a' is eq('a') }} {{ 2 is in [1, 2] }} {{ none is sameas none }} {{ 'abc' is lower }} {{ 'ABC' is upper }} {{ 1 is not none }} {{ tools is none }} {{ tools is defined }} {{ documents is none }} {{ range is callable }} {{ 3 is gt 2 }} {{ 3 is lt 2 }} {{ 3 is ge 3 }}",
    "undefined_behaviour": "[{{ missing }}][{{ messages[0].missing }}][{{ messages[99] }}][{% if missing %}yes{% else %}no{% endif %}][{{ missing | length }}][{% for x in missing %}x{% endfor %}][{{ missing ~ 'cat' }}][{{ missing == missing }}][{{ missing is none }}][{{ none['x'] }}][{{ 'abc'.nope }}][{{ (messages | first).role }}][{{ messages[-1].role }}]",
    "slicing": "{{ messages[1:] | length }} {{ messages[:-1] | map(attribute='role') | list }} {{ (messages[::-1] | first).role }} {{ [1, 2, 3, 4, 5][::2] }} {{ [1, 2, 3, 4, 5][-2:] }} {{ [1, 2, 3, 4, 5][4:1:-1] }} {{ [1, 2, 3][10:] }} {{ range(5)[1:3] | list }} {{ range(2, 10, 3) | list }} {{ range(5, 0, -2) | list }}",
    "macros": "{% macro turn(m, prefix='> ', suffix='') %}{{ prefix }}{{ m.role }}: {{ m.content | trim }}{{ suffix }}{% endmacro %}{% for m in messages %}{{ turn(m) }}|{{ turn(m, '# ') }}|{{ turn(m, suffix='!') }}\n{% endfor %}{% macro nothing() %}{% endmacro %}[{{ nothing() }}]",
    "generation_tag": "{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}{{ m.content }}{{ eos_token }}{% endgeneration %}{% else %}{{ m.content }}{% endif %}\n{% endfor %}",
    "set_messages_override": "{% set messages = messages[1:] %}{{ messages | length }}{% for m in messages %}{{ m.role }}{% endfor %}",
    # Expected errors (jinja2 fails at compile time or render time; so must Swift).
    "error_unknown_filter": "{{ messages | nosuchfilter }}",
    "error_unknown_test": "{% if messages is nosuchtest %}x{% endif %}",
    "error_unclosed_tag": "{% for m in messages %}{{ m.role }}",
    "error_unclosed_expr": "hello {{ messages ",
    "error_unknown_tag": "{% frobnicate %}",
    "error_stray_end": "text {% endif %}",
    "error_bad_expression": "{{ 1 + }}",
    "error_raise": "{% if messages | length > 0 %}{{ raise_exception('custom failure: ' ~ messages[0].role) }}{% endif %}",
    "error_undefined_attribute": "{{ missing.attr }}",
    "error_undefined_call": "{{ not_a_function() }}",
    "error_type_add": "{{ 'a' + 1 }}",
    "error_list_append": "{% set l = [] %}{{ l.append(1) }}",
    "error_range_too_big": "{% for i in range(1000000) %}{% endfor %}",
    "error_iterate_int": "{% for x in 5 %}{% endfor %}",
    "error_division_by_zero": "{{ 1 // 0 }}",
    "error_assign_non_namespace": "{% set d = {} %}{% set d.x = 1 %}",
    "error_break_outside_loop": "{% break %}",
}

CONVERSATIONS = {
    "single_user": [{"role": "user", "content": "Hello!"}],
    "system_user_assistant_user": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "2+2 equals 4."},
        {"role": "user", "content": "And 3+3?"},
    ],
    "user_assistant_user": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "Tell me a joke."},
    ],
    "empty_content": [
        {"role": "system", "content": ""},
        {"role": "user", "content": ""},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": ""},
    ],
    "tricky_content": [
        {"role": "system", "content": "Be terse.\n\nAlways."},
        {"role": "user", "content": "Render {{ x }} and {% if y %} and {# z #} literally\nline2\ttab ünïcødé 日本語 🎉 \\n"},
        {"role": "assistant", "content": "  padded answer with </s> and <|im_end|> inside  \n"},
        {"role": "user", "content": "'single' \"double\" \\ backslash\r\nCRLF"},
    ],
    "thinking_assistant": [
        {"role": "user", "content": "What is 6*7?"},
        {"role": "assistant", "content": "<think>\nSix times seven.\n</think>\n\n42."},
        {"role": "user", "content": "Thanks!"},
    ],
    "roles_not_alternating": [
        {"role": "user", "content": "first"},
        {"role": "user", "content": "second"},
    ],
    "no_messages": [],
}

TOKENS = {"bos_token": "<s>", "eos_token": "</s>"}
LLAMA_TOKENS = {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}
SMOL_TOKENS = {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>"}


def render(env, source, messages, add_generation_prompt, tokens):
    try:
        template = env.from_string(source)
        text = template.render(messages=messages, tools=None, documents=None,
                               add_generation_prompt=add_generation_prompt, **tokens)
        return {"expected": text}
    except Exception as error:  # compile- or render-time: both are "the template fails"
        return {"error": f"{type(error).__name__}: {error}"}


def main():
    gguf_path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_GGUF
    env = make_env()
    templates = {
        "chatml": (CHATML, TOKENS),
        "smollm2": (smollm2_template(gguf_path), SMOL_TOKENS),
        "llama3": (LLAMA3, LLAMA_TOKENS),
        "llama31": (LLAMA31, LLAMA_TOKENS),
        "zephyr": (ZEPHYR, TOKENS),
        "mistral": (MISTRAL, TOKENS),
        "mistral_v3": (MISTRAL_V3, TOKENS),
        "gemma": (GEMMA, {"bos_token": "<bos>", "eos_token": "<eos>"}),
        "gemma3": (GEMMA3, {"bos_token": "<bos>", "eos_token": "<eos>"}),
        "gemma_turns": (GEMMA_TURNS, {"bos_token": "<bos>", "eos_token": "<eos>"}),
        "phi3": (PHI3, {"bos_token": "<s>", "eos_token": "<|endoftext|>"}),
        "qwen25": (QWEN25, {"bos_token": "", "eos_token": "<|im_end|>"}),
        "qwen3": (QWEN3, {"bos_token": "", "eos_token": "<|im_end|>"}),
    }
    cases = []
    for tname, (source, tokens) in templates.items():
        for cname, messages in CONVERSATIONS.items():
            for agp in (False, True):
                case = {"name": f"{tname}/{cname}/agp={agp}", "template": tname, "messages": messages,
                        "add_generation_prompt": agp, **tokens}
                case.update(render(env, source, messages, agp, tokens))
                cases.append(case)
    feature_conversations = ["system_user_assistant_user", "tricky_content"]
    for fname, source in FEATURES.items():
        templates[fname] = (source, TOKENS)
        for cname in feature_conversations:
            messages = CONVERSATIONS[cname]
            case = {"name": f"{fname}/{cname}", "template": fname, "messages": messages,
                    "add_generation_prompt": True, **TOKENS}
            case.update(render(env, source, messages, True, TOKENS))
            cases.append(case)

    out = {
        "about": "Chat templates rendered by jinja2 configured like transformers.apply_chat_template "
                 "(see make_chat_template_goldens.py). Each case has 'expected' output or an 'error'.",
        "jinja2_version": jinja2.__version__,
        "templates": {name: source for name, (source, _) in templates.items()},
        "cases": cases,
    }
    path = os.path.join(HERE, "chat_templates.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    errors = sum(1 for c in cases if "error" in c)
    print(f"wrote {path}: {len(cases)} cases ({errors} expected errors), {len(templates)} templates")


if __name__ == "__main__":
    main()
