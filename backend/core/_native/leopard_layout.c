/*
 * Canonical GF(2^16) shards <-> reed-solomon-simd's chunk layout, in one pass.
 *
 * A canonical shard stores field element i as bytes (low, high) at 2i, 2i + 1. The
 * library works on 64-byte chunks holding 32 elements: the 32 low bytes, then the 32
 * high bytes; a short last chunk is zero-padded. numpy can only do this as stride-2
 * byte gathers plus a copy per row (~1 ms per MiB); this loop is memory speed, writes
 * the library's input straight into new bytes objects and its output straight into
 * the caller's array, and releases the GIL. backend/core/rs.py keeps a numpy fallback
 * that gives the same bytes (tested against each other).
 *
 * Rows may be `stride` bytes apart (stride >= width): rs.py codes wide shards in column
 * windows (a few tens of KiB per shard, so the library's work buffer stays in cache and
 * below malloc's mmap threshold) without copying each window out first.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#define CHUNK 64
#define HALF 32

/* One canonical row of `width` bytes (even) -> chunks * 64 bytes of library layout. */
static void row_to_layout(const unsigned char *src, Py_ssize_t width, unsigned char *dst) {
    Py_ssize_t full = width / CHUNK;
    for (Py_ssize_t c = 0; c < full; c++) {
        const unsigned char *in = src + c * CHUNK;
        unsigned char *out = dst + c * CHUNK;
        for (int j = 0; j < HALF; j++) {
            out[j] = in[2 * j];
            out[HALF + j] = in[2 * j + 1];
        }
    }
    Py_ssize_t tail = width - full * CHUNK;
    if (tail) {
        const unsigned char *in = src + full * CHUNK;
        unsigned char *out = dst + full * CHUNK;
        memset(out, 0, CHUNK);
        for (Py_ssize_t j = 0; j < tail / 2; j++) {
            out[j] = in[2 * j];
            out[HALF + j] = in[2 * j + 1];
        }
    }
}

/* chunks * 64 bytes of library layout -> the first `width` canonical bytes. */
static void row_from_layout(const unsigned char *src, Py_ssize_t width, unsigned char *dst) {
    Py_ssize_t full = width / CHUNK;
    for (Py_ssize_t c = 0; c < full; c++) {
        const unsigned char *in = src + c * CHUNK;
        unsigned char *out = dst + c * CHUNK;
        for (int j = 0; j < HALF; j++) {
            out[2 * j] = in[j];
            out[2 * j + 1] = in[HALF + j];
        }
    }
    Py_ssize_t tail = width - full * CHUNK;
    const unsigned char *in = src + full * CHUNK;
    unsigned char *out = dst + full * CHUNK;
    for (Py_ssize_t j = 0; j < tail / 2; j++) {
        out[2 * j] = in[j];
        out[2 * j + 1] = in[HALF + j];
    }
}

/* Even, positive, and small enough that rounding it up to a whole chunk cannot overflow. */
static int valid_width(Py_ssize_t width) {
    return width > 0 && width % 2 == 0 && width <= PY_SSIZE_T_MAX - CHUNK;
}

/* rows of `width` bytes, `stride` apart: the buffer must reach the end of the last row. */
static int valid_rows(Py_ssize_t len, Py_ssize_t rows, Py_ssize_t width, Py_ssize_t stride) {
    if (rows < 0 || !valid_width(width) || stride < width) {
        return 0;
    }
    if (rows == 0) {
        return len == 0 || stride != width;
    }
    if (rows - 1 > (PY_SSIZE_T_MAX - width) / stride) {
        return 0;
    }
    Py_ssize_t needed = (rows - 1) * stride + width;
    /* dense rows: exactly rows * width bytes, as before strides existed */
    return stride == width ? len == rows * width : len >= needed;
}

static PyObject *to_layout(PyObject *self, PyObject *args) {
    Py_buffer data;
    Py_ssize_t rows, width, stride = -1;
    if (!PyArg_ParseTuple(args, "y*nn|n", &data, &rows, &width, &stride)) {
        return NULL;
    }
    if (stride == -1) {
        stride = width;
    }
    PyObject *result = NULL;
    if (!valid_rows(data.len, rows, width, stride)) {
        PyErr_SetString(PyExc_ValueError,
                        "data must hold rows * width bytes (rows stride bytes apart), "
                        "width even and positive");
        goto done;
    }
    Py_ssize_t laid_out = (width + CHUNK - 1) / CHUNK * CHUNK;
    result = PyList_New(rows);
    if (result == NULL) {
        goto done;
    }
    for (Py_ssize_t r = 0; r < rows; r++) {
        PyObject *block = PyBytes_FromStringAndSize(NULL, laid_out);
        if (block == NULL) {
            Py_CLEAR(result);
            goto done;
        }
        PyList_SET_ITEM(result, r, block);
    }
    const unsigned char *src = (const unsigned char *)data.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t r = 0; r < rows; r++) {
        unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(PyList_GET_ITEM(result, r));
        row_to_layout(src + r * stride, width, dst);
    }
    Py_END_ALLOW_THREADS
done:
    PyBuffer_Release(&data);
    return result;
}

static PyObject *from_layout(PyObject *self, PyObject *args) {
    PyObject *blocks;
    Py_ssize_t width, stride = -1;
    Py_buffer out;
    if (!PyArg_ParseTuple(args, "Onw*|n", &blocks, &width, &out, &stride)) {
        return NULL;
    }
    if (stride == -1) {
        stride = width;
    }
    PyObject *result = NULL;
    /* A tuple of our own keeps every block alive while the GIL is released. */
    PyObject *seq = PySequence_Tuple(blocks);
    if (seq == NULL) {
        goto done;
    }
    Py_ssize_t rows = PyTuple_GET_SIZE(seq);
    if (!valid_rows(out.len, rows, width, stride)) {
        PyErr_SetString(PyExc_ValueError,
                        "out must hold len(blocks) * width bytes (rows stride bytes apart), "
                        "width even and positive");
        goto done;
    }
    Py_ssize_t laid_out = (width + CHUNK - 1) / CHUNK * CHUNK;
    for (Py_ssize_t r = 0; r < rows; r++) {
        PyObject *block = PyTuple_GET_ITEM(seq, r);
        if (!PyBytes_Check(block) || PyBytes_GET_SIZE(block) != laid_out) {
            PyErr_SetString(PyExc_ValueError,
                            "every block must be bytes of width rounded up to 64");
            goto done;
        }
    }
    unsigned char *dst = (unsigned char *)out.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t r = 0; r < rows; r++) {
        const unsigned char *src =
            (const unsigned char *)PyBytes_AS_STRING(PyTuple_GET_ITEM(seq, r));
        row_from_layout(src, width, dst + r * stride);
    }
    Py_END_ALLOW_THREADS
    Py_INCREF(Py_None);
    result = Py_None;
done:
    Py_XDECREF(seq);
    PyBuffer_Release(&out);
    return result;
}

static PyMethodDef methods[] = {
    {"to_layout", to_layout, METH_VARARGS,
     "to_layout(data, rows, width, stride=width) -> list[bytes]: each canonical row of "
     "`width` bytes (rows `stride` bytes apart in data) in the library's 64-byte chunk "
     "layout, zero-padded."},
    {"from_layout", from_layout, METH_VARARGS,
     "from_layout(blocks, width, out, stride=width): row r of out (`width` bytes at "
     "r * stride) = the canonical bytes of library-layout block r."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "leopard_layout",
    "reed-solomon-simd chunk layout conversions for GF(2^16) shards.", -1, methods,
};

PyMODINIT_FUNC PyInit_leopard_layout(void) { return PyModule_Create(&module); }
