/* Compiled as C99 and as C++ with every warning an error: the header must be
** clean in both. It also uses each type once so the declarations are checked. */
#include "swiftlet.h"

#include <string.h>

static int32_t on_token(const char *piece, size_t piece_len, int32_t token, void *user_data) {
    (void)piece; (void)piece_len; (void)token; (void)user_data;
    return 1;
}
static void on_log(int32_t level, const char *message, void *user_data) { (void)level; (void)message; (void)user_data; }
static int32_t on_progress(float progress, void *user_data) { (void)progress; (void)user_data; return 1; }

int main(void) {
    swiftlet_model_params model_params;
    swiftlet_context_params context_params;
    swiftlet_sampler_params sampler_params;
    swiftlet_generate_params generate_params;
    swiftlet_chat_params chat_params;
    swiftlet_generate_result result;
    swiftlet_memory_info memory;
    swiftlet_model_info info;
    swiftlet_chat_message message = {sizeof(swiftlet_chat_message), 0, "user", "hi"};
    int32_t reason = SWIFTLET_STOP_MAX_TOKENS;
    int32_t level = SWIFTLET_LOG_INFO;
    swiftlet_status status = SWIFTLET_ERROR_BUSY;
    swiftlet_token_callback callback = on_token;
    swiftlet_log_callback log_callback = on_log;
    swiftlet_progress_callback progress = on_progress;
    memset(&model_params, 0, sizeof model_params);
    memset(&context_params, 0, sizeof context_params);
    memset(&sampler_params, 0, sizeof sampler_params);
    memset(&generate_params, 0, sizeof generate_params);
    memset(&chat_params, 0, sizeof chat_params);
    memset(&result, 0, sizeof result);
    memset(&memory, 0, sizeof memory);
    memset(&info, 0, sizeof info);
    model_params.progress = progress;
    generate_params.sampling = &sampler_params;
    (void)message;
    (void)reason;
    (void)level;
    (void)status;
    (void)callback;
    (void)log_callback;
    return SWIFTLET_VERSION_NUMBER > 0 ? 0 : 1;
}
