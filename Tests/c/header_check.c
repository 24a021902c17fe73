/* Compiled as C99 and as C++ with every warning an error: the header must be
** clean in both. It also uses each type once so the declarations are checked. */
#include "swiftlet.h"

#include <string.h>

int main(void) {
    swiftlet_model_params model_params;
    swiftlet_context_params context_params;
    swiftlet_sampler_params sampler_params;
    swiftlet_generate_params generate_params;
    swiftlet_generate_result result;
    swiftlet_memory_info memory;
    swiftlet_model_info info;
    swiftlet_chat_message message = {"user", "hi"};
    swiftlet_stop_reason reason = SWIFTLET_STOP_MAX_TOKENS;
    swiftlet_log_level level = SWIFTLET_LOG_INFO;
    swiftlet_status status = SWIFTLET_OK;
    swiftlet_token_callback callback = 0;
    swiftlet_log_callback log_callback = 0;
    memset(&model_params, 0, sizeof model_params);
    memset(&context_params, 0, sizeof context_params);
    memset(&sampler_params, 0, sizeof sampler_params);
    memset(&generate_params, 0, sizeof generate_params);
    memset(&result, 0, sizeof result);
    memset(&memory, 0, sizeof memory);
    memset(&info, 0, sizeof info);
    (void)message;
    (void)reason;
    (void)level;
    (void)status;
    (void)callback;
    (void)log_callback;
    return SWIFTLET_VERSION_NUMBER > 0 ? 0 : 1;
}
