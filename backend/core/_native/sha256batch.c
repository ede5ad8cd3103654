/*
 * Many SHA-256 digests of fixed-size, one-byte-prefixed messages in one call.
 *
 * Red Stuff hashes every symbol of the n x n matrix as a Merkle leaf, plus ~2n^2
 * inner nodes, and a storage node hashes every expanded symbol of every sliver it
 * verifies. From Python each hashlib call costs ~0.4 us of interpreter overhead, more
 * than the hashing itself; this loop runs without the GIL, so two threads can share it.
 *
 * Two engines, same bytes (tested against hashlib and against each other):
 * - SHA-NI, two messages at a time: the x86 SHA extensions (sha256rnds2 & co.) are
 *   latency-bound on one message; interleaving the rounds of two equal-length messages
 *   keeps the unit busy: 1.7 -> ~3 GB/s per core on the AMD EPYC bench machine, where
 *   OpenSSL (one message at a time) already uses SHA-NI. Chosen at run time (CPUID).
 * - OpenSSL's SHA256_* otherwise (and `prefixed_digests_openssl`, the reference).
 * Only the loops and the message layout are ours; SHA-256 is FIPS 180-4 unchanged.
 */
#define PY_SSIZE_T_CLEAN
#define OPENSSL_SUPPRESS_DEPRECATED
#include <Python.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_SHANI_BUILD 1
#include <cpuid.h>
#include <immintrin.h>
#else
#define HAVE_SHANI_BUILD 0
#endif

#define DIGEST 32
#define BLOCK 64

/* The items are the rows of one or more buffers, hashed in order into one output. */
typedef struct {
    const unsigned char *base;
    size_t count;
} segment_t;

typedef void (*digests_fn)(unsigned char prefix, const segment_t *segments, size_t segment_count,
                           size_t item_size, unsigned char *dst);

static void openssl_digests(unsigned char prefix, const segment_t *segments, size_t segment_count,
                            size_t item_size, unsigned char *dst) {
    SHA256_CTX base, ctx;
    SHA256_Init(&base);
    SHA256_Update(&base, &prefix, 1);
    for (size_t s = 0; s < segment_count; s++) {
        for (size_t i = 0; i < segments[s].count; i++) {
            memcpy(&ctx, &base, sizeof ctx);
            SHA256_Update(&ctx, segments[s].base + i * item_size, item_size);
            SHA256_Final(dst, &ctx);
            dst += DIGEST;
        }
    }
}

/* Walks the items of all segments in order. */
typedef struct {
    const segment_t *segments;
    size_t segment_count, segment, item;
} cursor_t;

static const unsigned char *next_item(cursor_t *c, size_t item_size) {
    while (c->segment < c->segment_count && c->item == c->segments[c->segment].count) {
        c->segment++;
        c->item = 0;
    }
    if (c->segment == c->segment_count) {
        return NULL;
    }
    return c->segments[c->segment].base + item_size * c->item++;
}

/*
 * The padded message prefix || item || 0x80 || zeros || bit length (big endian), split
 * into 64-byte blocks. Blocks that lie wholly inside prefix || item, except the first
 * (which holds the prefix), are read in place at item + 64 j - 1; the others are built.
 */
typedef struct {
    size_t length;   /* prefix + item bytes */
    size_t in_place; /* blocks 1 .. in_place - 1 are read in place */
    size_t blocks;   /* all blocks, padding included */
} message_t;

static message_t message_of(size_t item_size) {
    message_t m;
    m.length = item_size + 1;
    m.in_place = m.length / BLOCK;
    m.blocks = (m.length + 8) / BLOCK + 1;
    return m;
}

static const unsigned char *block_at(const message_t *m, unsigned char prefix,
                                     const unsigned char *item, size_t j, unsigned char *built) {
    if (j >= 1 && j < m->in_place) {
        return item + BLOCK * j - 1;
    }
    for (size_t k = 0; k < BLOCK; k++) {
        size_t at = BLOCK * j + k;
        built[k] = at == 0 ? prefix : at < m->length ? item[at - 1] : at == m->length ? 0x80 : 0;
    }
    if (j == m->blocks - 1) {
        uint64_t bits = (uint64_t)m->length * 8;
        for (int k = 0; k < 8; k++) {
            built[BLOCK - 1 - k] = (unsigned char)(bits >> (8 * k));
        }
    }
    return built;
}

#if HAVE_SHANI_BUILD
#define SHANI __attribute__((target("sha,sse4.1,ssse3")))

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};
static const uint32_t H256[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

/* The state is kept as two vectors, ABEF and CDGH, as sha256rnds2 wants it. */
SHANI static void initial_state(__m128i state[2]) {
    __m128i abcd = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&H256[0]), 0xB1);
    __m128i efgh = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&H256[4]), 0x1B);
    state[0] = _mm_alignr_epi8(abcd, efgh, 8);
    state[1] = _mm_blend_epi16(efgh, abcd, 0xF0);
}

SHANI static void store_digest(const __m128i state[2], unsigned char *out) {
    const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i feba = _mm_shuffle_epi32(state[0], 0x1B);
    __m128i dchg = _mm_shuffle_epi32(state[1], 0xB1);
    _mm_storeu_si128((__m128i *)out, _mm_shuffle_epi8(_mm_blend_epi16(feba, dchg, 0xF0), swap));
    _mm_storeu_si128((__m128i *)(out + 16), _mm_shuffle_epi8(_mm_alignr_epi8(dchg, feba, 8), swap));
}

/* Message words 4i .. 4i + 3 from the previous sixteen (w0 oldest). */
SHANI static inline __m128i schedule(__m128i w0, __m128i w1, __m128i w2, __m128i w3) {
    __m128i t = _mm_add_epi32(_mm_sha256msg1_epu32(w0, w1), _mm_alignr_epi8(w3, w2, 4));
    return _mm_sha256msg2_epu32(t, w3);
}

#define FOUR_ROUNDS(S0, S1, W, i)                                                        \
    do {                                                                                 \
        __m128i k_ = _mm_add_epi32(W, _mm_loadu_si128((const __m128i *)&K256[4 * (i)])); \
        S1 = _mm_sha256rnds2_epu32(S1, S0, k_);                                          \
        S0 = _mm_sha256rnds2_epu32(S0, S1, _mm_shuffle_epi32(k_, 0x0E));                 \
    } while (0)

/* One block into each of two states; the two round chains are independent. */
SHANI static void compress_two(__m128i a[2], __m128i b[2], const unsigned char *block_a,
                               const unsigned char *block_b) {
    const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i a0 = a[0], a1 = a[1], b0 = b[0], b1 = b[1];
    __m128i wa[4], wb[4];
    for (int i = 0; i < 4; i++) {
        wa[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(block_a + 16 * i)), swap);
        wb[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(block_b + 16 * i)), swap);
    }
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) {
        if (i >= 4) {
            wa[i & 3] = schedule(wa[i & 3], wa[(i + 1) & 3], wa[(i + 2) & 3], wa[(i + 3) & 3]);
            wb[i & 3] = schedule(wb[i & 3], wb[(i + 1) & 3], wb[(i + 2) & 3], wb[(i + 3) & 3]);
        }
        FOUR_ROUNDS(a0, a1, wa[i & 3], i);
        FOUR_ROUNDS(b0, b1, wb[i & 3], i);
    }
    a[0] = _mm_add_epi32(a[0], a0);
    a[1] = _mm_add_epi32(a[1], a1);
    b[0] = _mm_add_epi32(b[0], b0);
    b[1] = _mm_add_epi32(b[1], b1);
}

SHANI static void shani_digests(unsigned char prefix, const segment_t *segments,
                                size_t segment_count, size_t item_size, unsigned char *dst) {
    message_t m = message_of(item_size);
    unsigned char built_a[BLOCK], built_b[BLOCK];
    cursor_t cursor = {segments, segment_count, 0, 0};
    const unsigned char *item_a;
    while ((item_a = next_item(&cursor, item_size)) != NULL) {
        /* an odd last item is paired with itself and its second digest dropped */
        const unsigned char *item_b = next_item(&cursor, item_size);
        int pair = item_b != NULL;
        if (!pair) {
            item_b = item_a;
        }
        __m128i a[2], b[2];
        initial_state(a);
        initial_state(b);
        for (size_t j = 0; j < m.blocks; j++) {
            compress_two(a, b, block_at(&m, prefix, item_a, j, built_a),
                         block_at(&m, prefix, item_b, j, built_b));
        }
        store_digest(a, dst);
        dst += DIGEST;
        if (pair) {
            store_digest(b, dst);
            dst += DIGEST;
        }
    }
}

static int cpu_has_shani(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & bit_SSSE3) || !(ecx & bit_SSE4_1)) {
        return 0;
    }
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
        return 0;
    }
    return (ebx & bit_SHA) != 0;
}
#endif

static digests_fn best_engine = openssl_digests;

static int check_prefix_and_size(int prefix, Py_ssize_t item_size) {
    if (prefix < 0 || prefix > 255) {
        PyErr_SetString(PyExc_ValueError, "prefix must be a byte value 0..255");
        return 0;
    }
    if (item_size <= 0) {
        PyErr_SetString(PyExc_ValueError, "data length must be a positive multiple of item_size");
        return 0;
    }
    return 1;
}

static PyObject *run(PyObject *args, digests_fn engine) {
    int prefix;
    Py_ssize_t item_size;
    Py_buffer data, out;
    if (!PyArg_ParseTuple(args, "iy*nw*", &prefix, &data, &item_size, &out)) {
        return NULL;
    }
    PyObject *result = NULL;
    if (!check_prefix_and_size(prefix, item_size)) {
        goto done;
    }
    if (data.len % item_size != 0) {
        PyErr_SetString(PyExc_ValueError, "data length must be a positive multiple of item_size");
        goto done;
    }
    segment_t segment = {(const unsigned char *)data.buf, (size_t)(data.len / item_size)};
    if (out.len != data.len / item_size * DIGEST) {
        PyErr_SetString(PyExc_ValueError, "out must hold exactly 32 bytes per item");
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    engine((unsigned char)prefix, &segment, 1, (size_t)item_size, (unsigned char *)out.buf);
    Py_END_ALLOW_THREADS
    Py_INCREF(Py_None);
    result = Py_None;
done:
    PyBuffer_Release(&data);
    PyBuffer_Release(&out);
    return result;
}

static PyObject *prefixed_digests(PyObject *self, PyObject *args) { return run(args, best_engine); }

static PyObject *prefixed_digests_openssl(PyObject *self, PyObject *args) {
    return run(args, openssl_digests);
}

/* The rows of several C-contiguous buffers (`parts`) and the output they hash into, held
 * (buffer views acquired) for as long as the hashing runs. */
typedef struct {
    unsigned char prefix;
    size_t item_size;
    Py_buffer *views;
    segment_t *segments;
    Py_ssize_t count, held;
    Py_buffer out;
    int has_out;
} batch_t;

static void batch_release(batch_t *b) {
    for (Py_ssize_t i = 0; i < b->held; i++) {
        PyBuffer_Release(&b->views[i]);
    }
    b->held = 0;
    PyMem_Free(b->views);
    PyMem_Free(b->segments);
    b->views = NULL;
    b->segments = NULL;
    if (b->has_out) {
        PyBuffer_Release(&b->out);
        b->has_out = 0;
    }
}

/* Parses (prefix, parts, item_size, out) into `b`; on failure sets the error, releases
 * what it took and returns 0. */
static int batch_acquire(batch_t *b, PyObject *args) {
    int prefix;
    PyObject *parts, *seq = NULL;
    Py_ssize_t item_size, total = 0;
    memset(b, 0, sizeof *b);
    if (!PyArg_ParseTuple(args, "iOnw*", &prefix, &parts, &item_size, &b->out)) {
        return 0;
    }
    b->has_out = 1;
    if (!check_prefix_and_size(prefix, item_size)) {
        goto fail;
    }
    b->prefix = (unsigned char)prefix;
    b->item_size = (size_t)item_size;
    seq = PySequence_Tuple(parts);
    if (seq == NULL) {
        goto fail;
    }
    b->count = PyTuple_GET_SIZE(seq);
    b->views = PyMem_Calloc((size_t)(b->count ? b->count : 1), sizeof *b->views);
    b->segments = PyMem_Calloc((size_t)(b->count ? b->count : 1), sizeof *b->segments);
    if (b->views == NULL || b->segments == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    for (; b->held < b->count; b->held++) {
        Py_buffer *view = &b->views[b->held];
        if (PyObject_GetBuffer(PyTuple_GET_ITEM(seq, b->held), view, PyBUF_C_CONTIGUOUS) < 0) {
            goto fail;
        }
        if (view->len % item_size != 0) {
            b->held++;
            PyErr_SetString(PyExc_ValueError,
                            "every part's length must be a positive multiple of item_size");
            goto fail;
        }
        b->segments[b->held].base = (const unsigned char *)view->buf;
        b->segments[b->held].count = (size_t)(view->len / item_size);
        total += view->len / item_size;
    }
    if (b->out.len != total * DIGEST) {
        PyErr_SetString(PyExc_ValueError, "out must hold exactly 32 bytes per item");
        goto fail;
    }
    Py_DECREF(seq);
    return 1;
fail:
    Py_XDECREF(seq);
    batch_release(b);
    return 0;
}

static void batch_hash(const batch_t *b) {
    best_engine(b->prefix, b->segments, (size_t)b->count, b->item_size,
                (unsigned char *)b->out.buf);
}

/* The rows of several C-contiguous buffers as one sequence of items (one output). */
static PyObject *prefixed_digests_of(PyObject *self, PyObject *args) {
    batch_t b;
    if (!batch_acquire(&b, args)) {
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    batch_hash(&b);
    Py_END_ALLOW_THREADS
    batch_release(&b);
    Py_RETURN_NONE;
}

/*
 * Hashing in the background: `start_prefixed_digests_of` queues a batch for one worker
 * thread of this module and returns a DigestJob; `DigestJob.wait()` returns once the
 * digests are in `out`, hashing them itself if the worker has not started on them (it is
 * busy with another caller's job). The worker never takes the GIL, so it keeps hashing
 * while the caller runs Python code or a library that holds the GIL (the RS encoder): a
 * Python thread pool's helpers each had to win the GIL back to start and to finish.
 */
enum { JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_TAKEN_BACK };

typedef struct job {
    struct job *next;
    int state;
    unsigned long generation;
    batch_t batch;
} job_t;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_has_work = PTHREAD_COND_INITIALIZER;
static pthread_cond_t pool_job_done = PTHREAD_COND_INITIALIZER;
static job_t *queue_head = NULL, *queue_tail = NULL;
static int worker_started = 0;
static unsigned long generation = 0; /* bumped in a forked child: the worker is not there */

static void *worker_main(void *unused) {
    (void)unused;
    pthread_mutex_lock(&pool_lock);
    for (;;) {
        while (queue_head == NULL) {
            pthread_cond_wait(&pool_has_work, &pool_lock);
        }
        job_t *job = queue_head;
        queue_head = job->next;
        if (queue_head == NULL) {
            queue_tail = NULL;
        }
        job->state = JOB_RUNNING;
        pthread_mutex_unlock(&pool_lock);
        batch_hash(&job->batch);
        pthread_mutex_lock(&pool_lock);
        job->state = JOB_DONE;
        pthread_cond_broadcast(&pool_job_done);
    }
    return NULL;
}

static void reset_pool_in_child(void) {
    pthread_mutex_t fresh_lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t fresh_cond = PTHREAD_COND_INITIALIZER;
    pool_lock = fresh_lock;
    pool_has_work = fresh_cond;
    pool_job_done = fresh_cond;
    queue_head = queue_tail = NULL;
    worker_started = 0;
    generation++;
}

/* Queues the job; returns 0 (the caller then hashes it itself) if no worker can run. */
static int enqueue(job_t *job) {
    pthread_mutex_lock(&pool_lock);
    if (!worker_started) {
        pthread_t thread;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        worker_started = pthread_create(&thread, &attr, worker_main, NULL) == 0;
        pthread_attr_destroy(&attr);
        if (!worker_started) {
            pthread_mutex_unlock(&pool_lock);
            return 0;
        }
    }
    job->next = NULL;
    job->state = JOB_QUEUED;
    job->generation = generation;
    if (queue_tail == NULL) {
        queue_head = job;
    } else {
        queue_tail->next = job;
    }
    queue_tail = job;
    pthread_mutex_unlock(&pool_lock);
    pthread_cond_signal(&pool_has_work); /* unlocked: the woken worker need not block on it */
    return 1;
}

/* Called without the GIL: on return the job's digests are in its output. */
static void finish(job_t *job) {
    pthread_mutex_lock(&pool_lock);
    if (job->generation != generation && job->state != JOB_DONE) {
        job->state = JOB_TAKEN_BACK; /* queued or running in the parent before a fork */
    } else if (job->state == JOB_QUEUED) {
        job_t **link = &queue_head, *previous = NULL;
        while (*link != job) {
            previous = *link;
            link = &(*link)->next;
        }
        *link = job->next;
        if (queue_tail == job) {
            queue_tail = previous;
        }
        job->state = JOB_TAKEN_BACK;
    }
    while (job->state == JOB_RUNNING) {
        pthread_cond_wait(&pool_job_done, &pool_lock);
    }
    int hash_here = job->state == JOB_TAKEN_BACK;
    job->state = JOB_DONE;
    pthread_mutex_unlock(&pool_lock);
    if (hash_here) {
        batch_hash(&job->batch);
    }
}

typedef struct {
    PyObject_HEAD
    job_t job;
    int waited;
} DigestJob;

static void digest_job_finish(DigestJob *self) {
    if (!self->waited) {
        Py_BEGIN_ALLOW_THREADS
        finish(&self->job);
        Py_END_ALLOW_THREADS
        self->waited = 1;
        batch_release(&self->job.batch);
    }
}

static PyObject *digest_job_wait(PyObject *self, PyObject *unused) {
    (void)unused;
    digest_job_finish((DigestJob *)self);
    Py_RETURN_NONE;
}

static void digest_job_dealloc(PyObject *self) {
    digest_job_finish((DigestJob *)self); /* the worker may still be reading the buffers */
    PyObject_Free(self);
}

static PyMethodDef digest_job_methods[] = {
    {"wait", digest_job_wait, METH_NOARGS,
     "wait(): return once every digest is in `out` (hashing them here if the worker has not "
     "started on them)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject DigestJobType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sha256batch.DigestJob",
    .tp_basicsize = sizeof(DigestJob),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "prefixed_digests_of running on the module's worker thread.",
    .tp_dealloc = digest_job_dealloc,
    .tp_methods = digest_job_methods,
};

static PyObject *start_prefixed_digests_of(PyObject *self, PyObject *args) {
    DigestJob *job = PyObject_New(DigestJob, &DigestJobType);
    if (job == NULL) {
        return NULL;
    }
    job->waited = 1; /* nothing to wait for until the batch is queued */
    if (!batch_acquire(&job->job.batch, args)) {
        Py_DECREF(job);
        return NULL;
    }
    job->waited = 0;
    if (!enqueue(&job->job)) {
        job->job.state = JOB_TAKEN_BACK;
        job->job.generation = generation;
    }
    return (PyObject *)job;
}

/*
 * Roots of `trees` Merkle trees of `width` leaf hashes each (DESIGN 3.5): inner node
 * H(0x01 || left || right), an odd level padded with `padding[height]` (the hash of an
 * all-padding subtree of that height, computed by merkle.py). One call instead of one
 * Python round (and numpy temporaries) per level: a sliver's 20-leaf tree costs ~5 us here
 * against ~25 us level by level.
 */
static PyObject *merkle_roots(PyObject *self, PyObject *args) {
    Py_buffer leaves, padding, out;
    Py_ssize_t trees, width;
    if (!PyArg_ParseTuple(args, "y*nny*w*", &leaves, &trees, &width, &padding, &out)) {
        return NULL;
    }
    PyObject *result = NULL;
    unsigned char *scratch = NULL;
    Py_ssize_t depth = 0;
    while (width > 0 && ((Py_ssize_t)1 << depth) < width) {
        depth++;
    }
    if (trees < 0 || width <= 0 || width > PY_SSIZE_T_MAX / DIGEST / 4 ||
        trees > PY_SSIZE_T_MAX / width / DIGEST || leaves.len != trees * width * DIGEST ||
        out.len != trees * DIGEST || padding.len < depth * DIGEST) {
        PyErr_SetString(PyExc_ValueError,
                        "leaves must hold trees * width hashes, out trees hashes, padding one "
                        "hash per level");
        goto done;
    }
    /* two levels side by side, each with room for `width` hashes plus a padding slot */
    scratch = PyMem_Malloc((size_t)(width + 1) * 2 * DIGEST);
    if (scratch == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t t = 0; t < trees; t++) {
        unsigned char *level = scratch, *next = scratch + (width + 1) * DIGEST;
        memcpy(level, (const unsigned char *)leaves.buf + t * width * DIGEST,
               (size_t)width * DIGEST);
        Py_ssize_t count = width;
        for (Py_ssize_t height = 0; count > 1; height++) {
            if (count % 2) {
                memcpy(level + count * DIGEST, (const unsigned char *)padding.buf + height * DIGEST,
                       DIGEST);
                count++;
            }
            segment_t pairs = {level, (size_t)(count / 2)};
            best_engine(0x01, &pairs, 1, 2 * DIGEST, next);
            unsigned char *swap = level;
            level = next;
            next = swap;
            count /= 2;
        }
        memcpy((unsigned char *)out.buf + t * DIGEST, level, DIGEST);
    }
    Py_END_ALLOW_THREADS
    Py_INCREF(Py_None);
    result = Py_None;
done:
    PyMem_Free(scratch);
    PyBuffer_Release(&leaves);
    PyBuffer_Release(&padding);
    PyBuffer_Release(&out);
    return result;
}

static PyMethodDef methods[] = {
    {"prefixed_digests", prefixed_digests, METH_VARARGS,
     "prefixed_digests(prefix, data, item_size, out): out[32i:32i+32] = "
     "sha256(bytes([prefix]) + data[i*item_size:(i+1)*item_size]) for every item."},
    {"prefixed_digests_openssl", prefixed_digests_openssl, METH_VARARGS,
     "prefixed_digests_openssl(prefix, data, item_size, out): the same through OpenSSL, "
     "one message at a time (the reference for the SHA-NI engine)."},
    {"prefixed_digests_of", prefixed_digests_of, METH_VARARGS,
     "prefixed_digests_of(prefix, parts, item_size, out): prefixed_digests over the rows of "
     "several C-contiguous buffers taken in order as one sequence (SHA-NI pairs rows across "
     "parts, so a sliver's source rows and parity rows hash as one batch)."},
    {"start_prefixed_digests_of", start_prefixed_digests_of, METH_VARARGS,
     "start_prefixed_digests_of(prefix, parts, item_size, out) -> DigestJob: "
     "prefixed_digests_of on the module's worker thread; call wait() before reading out."},
    {"merkle_roots", merkle_roots, METH_VARARGS,
     "merkle_roots(leaves, trees, width, padding, out): out[32t:32t+32] = root of tree t, "
     "whose width leaf hashes are leaves[32 width t:...]; padding[32h:32h+32] pads an odd "
     "level h; inner nodes are sha256(0x01 || left || right)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "sha256batch", "Batched prefixed SHA-256 (SHA-NI or OpenSSL).", -1,
    methods,
};

PyMODINIT_FUNC PyInit_sha256batch(void) {
    if (PyType_Ready(&DigestJobType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    static int atfork_registered = 0;
    if (!atfork_registered) {
        pthread_atfork(NULL, NULL, reset_pool_in_child);
        atfork_registered = 1;
    }
    int shani = 0;
#if HAVE_SHANI_BUILD
    shani = cpu_has_shani();
    if (shani) {
        best_engine = shani_digests;
    }
#endif
    if (PyModule_AddStringConstant(m, "ENGINE", shani ? "sha-ni-2way" : "openssl") < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
