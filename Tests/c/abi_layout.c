/* Prints the size of every public struct of swiftlet.h and the offset and
** size of each field, one per line, as gcc lays them out. The tests compare
** the output with Tests/abi/layout.txt (the ABI as published for x86-64), so
** an accidental layout change fails; a deliberate one updates that file and
** the README's changelog. The C# binding checks its own view against the
** same file. */
#include <stddef.h>
#include <stdio.h>

#include "swiftlet.h"

#define STRUCT(type) printf("%s %zu\n", #type, sizeof(type));
#define FIELD(type, field) \
    printf("%s.%s %zu %zu\n", #type, #field, offsetof(type, field), sizeof(((type *)0)->field));

int main(void) {
    STRUCT(swiftlet_memory_info)
    FIELD(swiftlet_memory_info, struct_size)
    FIELD(swiftlet_memory_info, reserved)
    FIELD(swiftlet_memory_info, allocator)
    FIELD(swiftlet_memory_info, bytes_allocated)
    FIELD(swiftlet_memory_info, bytes_mapped)

    STRUCT(swiftlet_model_params)
    FIELD(swiftlet_model_params, struct_size)
    FIELD(swiftlet_model_params, n_threads)
    FIELD(swiftlet_model_params, progress)
    FIELD(swiftlet_model_params, progress_user_data)

    STRUCT(swiftlet_model_info)
    FIELD(swiftlet_model_info, struct_size)
    FIELD(swiftlet_model_info, n_vocab)
    FIELD(swiftlet_model_info, architecture)
    FIELD(swiftlet_model_info, name)
    FIELD(swiftlet_model_info, n_ctx_train)
    FIELD(swiftlet_model_info, n_embd)
    FIELD(swiftlet_model_info, n_layer)
    FIELD(swiftlet_model_info, n_head)
    FIELD(swiftlet_model_info, n_head_kv)
    FIELD(swiftlet_model_info, n_ff)
    FIELD(swiftlet_model_info, n_params)
    FIELD(swiftlet_model_info, bos_token)
    FIELD(swiftlet_model_info, eos_token)

    STRUCT(swiftlet_context_params)
    FIELD(swiftlet_context_params, struct_size)
    FIELD(swiftlet_context_params, n_ctx)
    FIELD(swiftlet_context_params, n_threads)
    FIELD(swiftlet_context_params, n_batch)
    FIELD(swiftlet_context_params, n_seq_max)
    FIELD(swiftlet_context_params, overflow)
    FIELD(swiftlet_context_params, n_keep)
    FIELD(swiftlet_context_params, n_discard)

    STRUCT(swiftlet_batch)
    FIELD(swiftlet_batch, struct_size)
    FIELD(swiftlet_batch, n_tokens)
    FIELD(swiftlet_batch, tokens)
    FIELD(swiftlet_batch, seq_ids)
    FIELD(swiftlet_batch, positions)
    FIELD(swiftlet_batch, logits)

    STRUCT(swiftlet_sampler_params)
    FIELD(swiftlet_sampler_params, struct_size)
    FIELD(swiftlet_sampler_params, temperature)
    FIELD(swiftlet_sampler_params, top_k)
    FIELD(swiftlet_sampler_params, top_p)
    FIELD(swiftlet_sampler_params, min_p)
    FIELD(swiftlet_sampler_params, repeat_penalty)
    FIELD(swiftlet_sampler_params, repeat_last_n)
    FIELD(swiftlet_sampler_params, reserved)
    FIELD(swiftlet_sampler_params, seed)
    FIELD(swiftlet_sampler_params, grammar)

    STRUCT(swiftlet_generate_params)
    FIELD(swiftlet_generate_params, struct_size)
    FIELD(swiftlet_generate_params, max_tokens)
    FIELD(swiftlet_generate_params, tokenize_flags)
    FIELD(swiftlet_generate_params, reserved)
    FIELD(swiftlet_generate_params, sampling)

    STRUCT(swiftlet_generate_result)
    FIELD(swiftlet_generate_result, struct_size)
    FIELD(swiftlet_generate_result, n_prompt_tokens)
    FIELD(swiftlet_generate_result, n_generated_tokens)
    FIELD(swiftlet_generate_result, stop_reason)

    STRUCT(swiftlet_chat_message)
    FIELD(swiftlet_chat_message, struct_size)
    FIELD(swiftlet_chat_message, reserved)
    FIELD(swiftlet_chat_message, role)
    FIELD(swiftlet_chat_message, content)

    STRUCT(swiftlet_chat_params)
    FIELD(swiftlet_chat_params, struct_size)
    FIELD(swiftlet_chat_params, add_generation_prompt)
    FIELD(swiftlet_chat_params, chat_template)

    STRUCT(swiftlet_embed_params)
    FIELD(swiftlet_embed_params, struct_size)
    FIELD(swiftlet_embed_params, pooling)
    FIELD(swiftlet_embed_params, normalize)
    FIELD(swiftlet_embed_params, reserved)

    STRUCT(swiftlet_observation)
    FIELD(swiftlet_observation, struct_size)
    FIELD(swiftlet_observation, kind)
    FIELD(swiftlet_observation, layer)
    FIELD(swiftlet_observation, seq_id)
    FIELD(swiftlet_observation, first_token)
    FIELD(swiftlet_observation, n_tokens)
    FIELD(swiftlet_observation, first_position)
    FIELD(swiftlet_observation, n_heads)
    FIELD(swiftlet_observation, n_columns)
    FIELD(swiftlet_observation, reserved)
    FIELD(swiftlet_observation, values)
    return 0;
}
