/*
 * liblogitstore: the LogitStore core (format, codecs, memory-mapped reader, batch loader) as a C library,
 * compiled from src/LogitStore.Native with NativeAOT. ABI version 2; docs/native-abi.md describes every call.
 *
 * Conventions: every function that can fail returns a logitstore_status (0 = ok, negative = error) and records the
 * error for the calling thread (logitstore_last_error*); no call aborts the process on a damaged store. Handles are
 * opaque; a loader keeps its store open until the loader is closed. Buffers are the caller's, little-endian native
 * types, row-major; a store's JSON documents are library-owned bytes released with logitstore_free_bytes.
 */
#ifndef LOGITSTORE_H
#define LOGITSTORE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LOGITSTORE_ABI_VERSION 2

typedef int32_t logitstore_status;
#define LOGITSTORE_OK 0
#define LOGITSTORE_CORRUPT (-1)          /* the store violates the format: the error names file and byte offset */
#define LOGITSTORE_INVALID_ARGUMENT (-2) /* bad options, sizes, handles or sequence ids */
#define LOGITSTORE_IO_ERROR (-3)         /* a missing path, a permission, a failed read */
#define LOGITSTORE_INTERNAL_ERROR (-4)

#define LOGITSTORE_OPEN_DAMAGED 1        /* open a store with damaged shards: only reads that need them fail */

typedef struct logitstore_store logitstore_store;
typedef struct logitstore_loader logitstore_loader;

/* How a loader cuts, orders and splits batches (BatchLoaderOptions). struct_size = sizeof(logitstore_loader_options).
   A loader runs no threads: its plan says which rows a step holds, its fill decodes a step on the calling thread. */
typedef struct logitstore_loader_options {
    int32_t struct_size;
    int32_t batch_size;          /* B: rows per batch */
    int32_t sequence_length;     /* T: positions per row; a stored sequence of length L gives floor(L / T) rows */
    int32_t width;               /* K: entries per position in the dense layout (extra entries fold into the residual) */
    int32_t shuffle;             /* nonzero: seeded block and row order per epoch */
    int32_t skip_damaged_blocks; /* nonzero: leave out blocks of damaged shards (store opened with OPEN_DAMAGED) */
    uint64_t seed;
    int32_t rank;                /* data-parallel split by blocks: this rank of world_size */
    int32_t world_size;
} logitstore_loader_options;

/* Caller-owned memory for one batch: [B*T] tokens, kept counts, residual; [B*T*K] ids, probs; [B] row origins. */
typedef struct logitstore_batch_buffers {
    int32_t *tokens;
    int32_t *kept_counts;
    float *residual;
    int32_t *ids;
    float *probs;
    uint64_t *row_sequence;      /* the sequence id each row was cut from */
    int32_t *row_offset;         /* and the position of its first token there */
} logitstore_batch_buffers;

int32_t logitstore_abi_version(void);

/* The calling thread's last error, UTF-8, NUL-terminated and cut to capacity; returns its full length in bytes. */
int32_t logitstore_last_error(char *buffer, int32_t capacity);
/* The file a LOGITSTORE_CORRUPT error names (else ""), and its byte offset (else -1). */
int32_t logitstore_last_error_file(char *buffer, int32_t capacity);
int64_t logitstore_last_error_offset(void);
void logitstore_free_bytes(uint8_t *bytes);
/* Managed bytes the library has allocated since it loaded, over all threads: flat across a loop that allocates nothing. */
int64_t logitstore_allocated_bytes(void);

logitstore_status logitstore_store_open(const char *path, int32_t flags, logitstore_store **store);
void logitstore_store_close(logitstore_store *store);
/* The store's facts and its manifest as one JSON object (docs/native-abi.md); free with logitstore_free_bytes. */
logitstore_status logitstore_store_facts(logitstore_store *store, uint8_t **json, int64_t *length);
/* Random access by global sequence id: first the shape (positions, entries), then the copy into buffers of that size. */
logitstore_status logitstore_store_sequence_shape(logitstore_store *store, uint64_t sequence, int32_t *length,
                                                  int64_t *entries);
logitstore_status logitstore_store_read_sequence(logitstore_store *store, uint64_t sequence, int32_t *tokens,
                                                 int32_t *kept_counts, float *residual, int32_t length, int32_t *ids,
                                                 float *probs, int64_t entries);
/* Full verification of the store at path: a JSON report with every fault's file, offset and problem. */
logitstore_status logitstore_verify(const char *path, uint8_t **json, int64_t *length);

logitstore_status logitstore_loader_create(logitstore_store *store, const logitstore_loader_options *options,
                                           logitstore_loader **loader);
logitstore_status logitstore_loader_steps_per_epoch(logitstore_loader *loader, int64_t *steps);
/* The plan of step `step`, with no decoding: for each of the B batch rows, the global block it comes from and the row of
   that block (rows counted sequence by sequence, floor(L / T) per sequence). Writes the first B entries of each array;
   count (their length) must be at least B. */
logitstore_status logitstore_loader_plan(logitstore_loader *loader, int64_t step, int32_t *blocks, int32_t *rows,
                                         int32_t count);
/* Makes decode scratch for `callers` threads calling logitstore_loader_fill at once, now rather than when they first
   overlap (which may be long after a warm-up): a caller that fills from N threads reserves N before its first fill. */
logitstore_status logitstore_loader_reserve_callers(logitstore_loader *loader, int32_t callers);
/* Assembles step `step` (epoch = step / steps_per_epoch) on the calling thread, decoding straight into buffers: the rows
   logitstore_loader_plan names, in its order. Thread-safe: concurrent callers each decode with their own scratch, for
   any steps. A loader remembers the last 16 buffer sets it was given; filling a ring of at most 16 allocates nothing. */
logitstore_status logitstore_loader_fill(logitstore_loader *loader, int64_t step, const logitstore_batch_buffers *buffers);
void logitstore_loader_close(logitstore_loader *loader);

/* ---- Writing a store from this process (docs/native-abi.md, "Writing"). ---- */

typedef struct logitstore_writer logitstore_writer;

#define LOGITSTORE_WRITER_OVERWRITE 1    /* replace a store at the path (not with logitstore_writer_resume) */
#define LOGITSTORE_WRITER_ID_SEED 2      /* derive store_id and pack_id from id_seed (format spec 2.8) */

/* The settings of a store a writer makes, as `logitstore pack` takes them. Fill with logitstore_writer_options_default,
   then set what differs; a NULL string takes the default. struct_size = sizeof(logitstore_writer_options). */
typedef struct logitstore_writer_options {
    int32_t struct_size;
    uint32_t vocab_size;         /* V >= 2: every token and kept id is below it */
    const char *teacher_id;      /* UTF-8, recorded as the manifest's teacher.id; NULL: "" */
    const char *method;          /* "top-k", "top-p", "top-p-k", "sampled" or "full" */
    float temperature;
    float top_p;
    int32_t top_k;
    int32_t draws;               /* sampled: draws per position */
    uint64_t seed;               /* sampled: seed of the draws */
    const char *tokens_codec;    /* "packed" or "u32" */
    const char *ids;             /* ids codec: "context", "ranked", "packed", "delta", "u32" */
    const char *values;          /* values codec: "mvq:M", "q8", "q4", "f16", "f32", "counts" */
    double value_log_range;      /* q8/q4: R in nats; 0: the codec's default */
    int32_t mvq_beam;
    int32_t dictionary_sample;   /* positions collected to train dictionaries */
    int32_t zstd_level;
    int32_t sequences_per_block;
    int64_t shard_target_bytes;
    int32_t part_index;          /* part part_index of part_count (format spec 2.6); part_count 0: a whole store */
    int32_t part_count;
    uint64_t first_sequence;     /* a part's first global sequence id: a multiple of sequences_per_block */
    int32_t workers;             /* encoding threads; 0: every core */
    int32_t flags;               /* LOGITSTORE_WRITER_* */
    uint64_t id_seed;            /* with LOGITSTORE_WRITER_ID_SEED */
} logitstore_writer_options;

logitstore_status logitstore_writer_options_default(logitstore_writer_options *options);
/* Starts a new store at path; every setting is checked before anything is written. */
logitstore_status logitstore_writer_create(const char *path, const logitstore_writer_options *options,
                                           logitstore_writer **writer);
/* Finishes the partial store at path (settings must equal the store's); starts one where none is. */
logitstore_status logitstore_writer_resume(const char *path, const logitstore_writer_options *options,
                                           logitstore_writer **writer);
/* committed: sequences the store held when the writer opened it, to be sent again first (tokens alone are read);
   received: sequences taken so far; was_complete: a resume found the store complete. */
logitstore_status logitstore_writer_state(logitstore_writer *writer, uint64_t *committed, uint64_t *received,
                                          int32_t *was_complete);
/* One sequence: tokens [length], logits [length * V] float32 (count = length * V), processed by the store's method.
   A resent sequence may pass NULL logits and count 0. */
logitstore_status logitstore_writer_append_logits(logitstore_writer *writer, const int32_t *tokens, int32_t length,
                                                  const float *logits, int64_t count);
/* One sequence with top-k lists: ids and log-probabilities [length * width] (full distribution, temperature 1),
   counts [length] entries used per position (NULL: width each). A resent sequence may pass NULL ids and logprobs. */
logitstore_status logitstore_writer_append_top_k(logitstore_writer *writer, const int32_t *tokens, int32_t length,
                                                 const int32_t *ids, const float *logprobs, int32_t width,
                                                 const int32_t *counts);
/* Completes the store. */
logitstore_status logitstore_writer_commit(logitstore_writer *writer);
/* Releases the writer; one not committed is aborted: the store keeps what it committed, as after a crash. */
void logitstore_writer_close(logitstore_writer *writer);

#ifdef __cplusplus
}
#endif

#endif
