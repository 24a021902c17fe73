/* What the fuzz targets in Tests/fuzz/targets/ share: the contract checks
** every call's answer must pass, loading a seed model, a UTF-8 check.
**
** A target is one C file defining LLVMFuzzerTestOneInput (and, when it needs
** setup, LLVMFuzzerInitialize). scripts/fuzz.sh builds each against the
** instrumented library and runs it; a first line of the form
**     // fuzz-options: -max_len=4096
** adds libFuzzer options for that target. A broken contract is an abort(),
** which libFuzzer records as a crash with the input that caused it. */
#ifndef SWIFTLET_FUZZ_COMMON_H
#define SWIFTLET_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swiftlet.h"

#define FUZZ_REQUIRE(condition)                                                                  \
    do {                                                                                         \
        if (!(condition)) {                                                                      \
            fprintf(stderr, "%s:%d: contract broken: %s (last error: %s)\n", __FILE__, __LINE__, \
                    #condition, swiftlet_last_error());                                          \
            abort();                                                                             \
        }                                                                                        \
    } while (0)

/* Every status is one the header defines, INTERNAL ("a bug in Swiftlet")
** never comes back from bad input, and a failure leaves a message. */
static inline swiftlet_status fuzz_checked(swiftlet_status status, const char *call) {
    if (status < SWIFTLET_OK || status > SWIFTLET_ERROR_BUSY || status == SWIFTLET_ERROR_INTERNAL) {
        fprintf(stderr, "%s returned %d (%s): %s\n", call, (int)status, swiftlet_status_string(status),
                swiftlet_last_error());
        abort();
    }
    const char *message = swiftlet_last_error();
    FUZZ_REQUIRE(message != NULL);
    if (status != SWIFTLET_OK) FUZZ_REQUIRE(message[0] != '\0');
    return status;
}
#define FUZZ_CALL(call) fuzz_checked((call), #call)

/* A model from the directory in $SWIFTLET_FUZZ_MODELS (scripts/fuzz.sh writes
** gpt2.gguf and smollm.gguf there with Tests/fuzz/make_seeds.py), or exit. */
static inline swiftlet_model *fuzz_load_seed_model(const char *name) {
    const char *directory = getenv("SWIFTLET_FUZZ_MODELS");
    if (!directory || !*directory) {
        fprintf(stderr, "set SWIFTLET_FUZZ_MODELS to the seed model directory (scripts/fuzz.sh does)\n");
        exit(2);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", directory, name);
    swiftlet_model *model = NULL;
    if (swiftlet_model_load(path, NULL, &model) != SWIFTLET_OK) {
        fprintf(stderr, "%s: %s\n", path, swiftlet_last_error());
        exit(2);
    }
    return model;
}

/* Whether bytes are valid UTF-8 (no overlong forms, surrogates or values
** past U+10FFFF), as Swift's String and Unicode define it. */
static inline int fuzz_is_utf8(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t length;
        uint32_t value;
        if (c < 0x80) { i++; continue; }
        else if (c >= 0xC2 && c <= 0xDF) { length = 2; value = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { length = 3; value = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { length = 4; value = c & 0x07; }
        else return 0;
        if (n - i < length) return 0;
        for (size_t k = 1; k < length; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            value = value << 6 | (s[i + k] & 0x3F);
        }
        if ((length == 3 && value < 0x800) || (length == 4 && (value < 0x10000 || value > 0x10FFFF)) ||
            (value >= 0xD800 && value <= 0xDFFF))
            return 0;
        i += length;
    }
    return 1;
}

#endif
