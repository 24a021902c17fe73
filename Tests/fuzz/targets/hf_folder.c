// fuzz-options: -max_len=393216
/* Hugging Face checkpoint folders: the input's first byte (modulo 7) chooses
** one file of a valid tiny BERT folder (Tests/python/make_tiny_bert.py, F16),
** the rest of the input replaces it, and swiftlet_model_load loads the folder:
**
**   0 model.safetensors   1 config.json   2 tokenizer.json   3 1_Pooling/config.json
**   4 sentence_bert_config.json   5 modules.json
**   6 model.safetensors.index.json (of the two-shard folder)
**
** The seed folders (hf_bert, hf_bert_sharded in $SWIFTLET_FUZZ_MODELS, written
** by Tests/fuzz/make_seeds.py) are copied once into a temporary directory,
** removed at exit; after each input the replaced file gets its bytes back.
**
** A load may succeed or fail with IO, INVALID_FILE, NOT_FOUND or UNSUPPORTED.
** A loaded model embeds "hello world" and "" in a small context: OK whenever
** both texts tokenize to 1..n_ctx tokens as the model's sequences, each vector
** of length 1 and finite (unless the weights themselves came from the input,
** which may hold NaN or infinities; a vector is then finite and of length 1,
** or all zero, or not finite). */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../fuzz_common.h"

enum { N_FILES = 7, SAFETENSORS = 0 };
static const struct {
    const char *folder, *name;
} files[N_FILES] = {
    {"hf_bert", "model.safetensors"},         {"hf_bert", "config.json"},  {"hf_bert", "tokenizer.json"},
    {"hf_bert", "1_Pooling/config.json"},     {"hf_bert", "sentence_bert_config.json"},
    {"hf_bert", "modules.json"},              {"hf_bert_sharded", "model.safetensors.index.json"},
};

static char temporary[4096];
static char paths[N_FILES][4096];    /* each replaceable file in the copy */
static char folders[N_FILES][4096];  /* the folder it belongs to */
static uint8_t *originals[N_FILES];
static size_t original_sizes[N_FILES];

static uint8_t *read_all(const char *path, size_t *size) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        perror(path);
        exit(2);
    }
    struct stat status;
    if (fstat(fd, &status) != 0) exit(2);
    uint8_t *data = malloc((size_t)status.st_size + 1);
    size_t done = 0;
    while (done < (size_t)status.st_size) {
        ssize_t n = read(fd, data + done, (size_t)status.st_size - done);
        if (n <= 0) exit(2);
        done += (size_t)n;
    }
    close(fd);
    *size = done;
    return data;
}

static int write_all(const char *path, const uint8_t *data, size_t size) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return -1;
    for (size_t done = 0; done < size;) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)n;
    }
    return close(fd);
}

/* Copies the directory `from` (regular files and subdirectories) to `to`. */
static void copy_tree(const char *from, const char *to) {
    if (mkdir(to, 0755) != 0) {
        perror(to);
        exit(2);
    }
    DIR *directory = opendir(from);
    if (!directory) {
        perror(from);
        fprintf(stderr, "the seed folders come from Tests/fuzz/make_seeds.py (scripts/fuzz.sh runs it)\n");
        exit(2);
    }
    struct dirent *entry;
    while ((entry = readdir(directory)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
        char source[4096], target[4096];
        snprintf(source, sizeof source, "%s/%s", from, entry->d_name);
        snprintf(target, sizeof target, "%s/%s", to, entry->d_name);
        struct stat status;
        if (stat(source, &status) != 0) exit(2);
        if (S_ISDIR(status.st_mode)) {
            copy_tree(source, target);
        } else if (S_ISREG(status.st_mode)) {
            size_t size;
            uint8_t *data = read_all(source, &size);
            if (write_all(target, data, size) != 0) {
                perror(target);
                exit(2);
            }
            free(data);
        }
    }
    closedir(directory);
}

static int remove_entry(const char *path, const struct stat *status, int flag, struct FTW *ftw) {
    (void)status;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void remove_temporary(void) {
    if (temporary[0]) nftw(temporary, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    const char *models = getenv("SWIFTLET_FUZZ_MODELS");
    if (!models || !*models) {
        fprintf(stderr, "set SWIFTLET_FUZZ_MODELS to the seed model directory (scripts/fuzz.sh does)\n");
        exit(2);
    }
    const char *base = getenv("TMPDIR");
    snprintf(temporary, sizeof temporary, "%s/swiftlet-fuzz-hf-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(temporary)) {
        perror("mkdtemp");
        exit(2);
    }
    atexit(remove_temporary);
    const char *seeds[] = {"hf_bert", "hf_bert_sharded"};
    for (size_t i = 0; i < 2; i++) {
        char from[4096], to[4096];
        snprintf(from, sizeof from, "%s/%s", models, seeds[i]);
        snprintf(to, sizeof to, "%s/%s", temporary, seeds[i]);
        copy_tree(from, to);
    }
    for (int i = 0; i < N_FILES; i++) {
        snprintf(folders[i], sizeof folders[i], "%s/%s", temporary, files[i].folder);
        snprintf(paths[i], sizeof paths[i], "%s/%s", folders[i], files[i].name);
        originals[i] = read_all(paths[i], &original_sizes[i]);
    }
    return 0;
}

/* Tokens "text" makes as one of the model's sequences ([CLS] text [SEP] on
** BERT), or -1 when tokenizing fails. */
static long sequence_length(const swiftlet_model *model, const char *text) {
    size_t count = 0;
    swiftlet_status status = FUZZ_CALL(swiftlet_tokenize(model, text, strlen(text),
                                                         SWIFTLET_TOKENIZE_MODEL_BOS | SWIFTLET_TOKENIZE_SPECIAL,
                                                         NULL, 0, &count));
    if (status != SWIFTLET_OK && status != SWIFTLET_ERROR_BUFFER_TOO_SMALL) return -1;
    return (long)count;
}

static void embed(swiftlet_model *model, int weights_from_input) {
    swiftlet_model_info info = {.struct_size = sizeof info};
    FUZZ_REQUIRE(FUZZ_CALL(swiftlet_model_get_info(model, &info)) == SWIFTLET_OK);
    FUZZ_REQUIRE(info.n_embd > 0 && info.n_vocab > 0);
    swiftlet_context_params params;
    swiftlet_context_params_init(&params);
    params.n_ctx = info.n_ctx_train > 0 && info.n_ctx_train < 64 ? info.n_ctx_train : 64;
    params.n_threads = 1;
    swiftlet_context *context = NULL;
    swiftlet_status status = FUZZ_CALL(swiftlet_context_create(model, &params, &context));
    if (status != SWIFTLET_OK) {
        FUZZ_REQUIRE(status == SWIFTLET_ERROR_INVALID_ARGUMENT || status == SWIFTLET_ERROR_OUT_OF_MEMORY);
        return;
    }
    const char *texts[2] = {"hello world", ""};
    long n_ctx = swiftlet_context_size(context);
    int fits = 1;
    for (int i = 0; i < 2; i++) {
        long length = sequence_length(model, texts[i]);
        if (length < 1 || length > n_ctx) fits = 0;
    }
    swiftlet_embed_params embed_params;
    swiftlet_embed_params_init(&embed_params);
    embed_params.normalize = 1;
    const size_t n_embd = (size_t)info.n_embd, capacity = 2 * n_embd;
    size_t count = 0;
    status = FUZZ_CALL(swiftlet_embed(context, texts, 2, &embed_params, NULL, 0, &count));
    if (fits) FUZZ_REQUIRE(status == SWIFTLET_ERROR_BUFFER_TOO_SMALL);
    FUZZ_REQUIRE(status == SWIFTLET_ERROR_BUFFER_TOO_SMALL || status == SWIFTLET_ERROR_INVALID_ARGUMENT);
    if (status == SWIFTLET_ERROR_BUFFER_TOO_SMALL) FUZZ_REQUIRE(count == capacity);
    float *out = malloc(capacity * sizeof *out);
    status = FUZZ_CALL(swiftlet_embed(context, texts, 2, &embed_params, out, capacity, &count));
    if (fits) FUZZ_REQUIRE(status == SWIFTLET_OK);
    FUZZ_REQUIRE(status == SWIFTLET_OK || status == SWIFTLET_ERROR_INVALID_ARGUMENT);
    if (status == SWIFTLET_OK) {
        FUZZ_REQUIRE(count == capacity);
        for (size_t i = 0; i < 2; i++) {
            const float *vector = out + i * n_embd;
            double squares = 0;
            int finite = 1;
            for (size_t j = 0; j < n_embd; j++) {
                if (!isfinite(vector[j])) finite = 0;
                squares += (double)vector[j] * vector[j];
            }
            if (weights_from_input) {
                FUZZ_REQUIRE(!finite || squares == 0 || fabs(squares - 1) < 1e-3);
            } else {
                FUZZ_REQUIRE(finite && fabs(squares - 1) < 1e-3);
            }
        }
    }
    free(out);
    swiftlet_context_free(context);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    const int which = data[0] % N_FILES;
    FUZZ_REQUIRE(write_all(paths[which], data + 1, size - 1) == 0);
    swiftlet_model_params params;
    swiftlet_model_params_init(&params);
    params.n_threads = 1;
    swiftlet_model *model = NULL;
    swiftlet_status status = FUZZ_CALL(swiftlet_model_load(folders[which], &params, &model));
    FUZZ_REQUIRE(status == SWIFTLET_OK || status == SWIFTLET_ERROR_INVALID_FILE || status == SWIFTLET_ERROR_NOT_FOUND ||
                 status == SWIFTLET_ERROR_UNSUPPORTED || status == SWIFTLET_ERROR_IO);
    if (status == SWIFTLET_OK) {
        FUZZ_REQUIRE(model != NULL);
        embed(model, which == SAFETENSORS);
        swiftlet_model_free(model);
    }
    FUZZ_REQUIRE(write_all(paths[which], originals[which], original_sizes[which]) == 0);
    return 0;
}
