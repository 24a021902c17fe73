/* dlopen_host.c — loads libswiftlet.so at run time, as a game or tool plugin
** host does, and generates a few tokens through function pointers looked up
** with dlsym. Only the header's types are used; nothing is linked.
**
**   cc -I include dlopen_host.c -ldl -o dlopen_host
**   ./dlopen_host path/to/libswiftlet.so MODEL.gguf "prompt" */
#include <dlfcn.h>
#include <stdio.h>

#include "swiftlet.h"

typedef const char *(*version_fn)(void);
typedef swiftlet_status (*model_load_fn)(const char *, const swiftlet_model_params *, swiftlet_model **);
typedef void (*model_free_fn)(swiftlet_model *);
typedef swiftlet_status (*context_create_fn)(swiftlet_model *, const swiftlet_context_params *, swiftlet_context **);
typedef void (*context_free_fn)(swiftlet_context *);
typedef void (*generate_params_init_fn)(swiftlet_generate_params *);
typedef void (*sampler_params_init_sized_fn)(swiftlet_sampler_params *, size_t);
typedef swiftlet_status (*generate_fn)(swiftlet_context *, const char *, const swiftlet_generate_params *,
                                       swiftlet_token_callback, void *, swiftlet_generate_result *);
typedef const char *(*last_error_fn)(void);

static int32_t print_piece(const char *piece, size_t len, int32_t token, void *user_data) {
    (void)token;
    (void)user_data;
    fwrite(piece, 1, len, stdout);
    return 1; /* go on */
}

#define LOOKUP(type, name)                                                   \
    type name = (type)dlsym(library, #name);                                 \
    if (!name) {                                                             \
        fprintf(stderr, "missing symbol %s\n", #name);                       \
        return 1;                                                            \
    }

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s LIBSWIFTLET.so MODEL.gguf PROMPT\n", argv[0]);
        return 2;
    }
    void *library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    /* ISO C forbids converting void * to function pointers; POSIX requires it to work. */
#pragma GCC diagnostic ignored "-Wpedantic"
    LOOKUP(version_fn, swiftlet_version)
    LOOKUP(model_load_fn, swiftlet_model_load)
    LOOKUP(model_free_fn, swiftlet_model_free)
    LOOKUP(context_create_fn, swiftlet_context_create)
    LOOKUP(context_free_fn, swiftlet_context_free)
    LOOKUP(generate_params_init_fn, swiftlet_generate_params_init)
    /* The header's swiftlet_sampler_params_init is a macro over the sized form. */
    LOOKUP(sampler_params_init_sized_fn, swiftlet_sampler_params_init_sized)
    LOOKUP(generate_fn, swiftlet_generate)
    LOOKUP(last_error_fn, swiftlet_last_error)

    LOOKUP(version_fn, swiftlet_system_info)

    printf("loaded Swiftlet %s\n", swiftlet_version());
    fprintf(stderr, "%s\n", swiftlet_system_info());
    swiftlet_model *model = NULL;
    if (swiftlet_model_load(argv[2], NULL, &model) != SWIFTLET_OK) {
        fprintf(stderr, "load: %s\n", swiftlet_last_error());
        return 1;
    }
    swiftlet_context *context = NULL;
    swiftlet_context_params context_params = {.struct_size = sizeof context_params, .n_ctx = 256};
    if (swiftlet_context_create(model, &context_params, &context) != SWIFTLET_OK) {
        fprintf(stderr, "context: %s\n", swiftlet_last_error());
        return 1;
    }
    swiftlet_generate_params params;
    swiftlet_generate_params_init(&params);
    params.max_tokens = 16;
    swiftlet_sampler_params sampling;
    swiftlet_sampler_params_init(&sampling);
    sampling.temperature = 0;
    params.sampling = &sampling;
    swiftlet_status status = swiftlet_generate(context, argv[3], &params, print_piece, NULL, NULL);
    printf("\n");
    swiftlet_context_free(context);
    swiftlet_model_free(model);
    if (dlclose(library) != 0) {
        fprintf(stderr, "dlclose: %s\n", dlerror());
        return 1;
    }
    return status == SWIFTLET_OK ? 0 : 1;
}
