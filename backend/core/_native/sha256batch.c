/*
 * Many SHA-256 digests of fixed-size, one-byte-prefixed messages in one call.
 *
 * Red Stuff hashes every symbol of the n x n matrix as a Merkle leaf, plus ~2n^2
 * inner nodes: about three million digests of a few hundred bytes at n = 1000.
 * From Python each hashlib call costs ~0.4 us of interpreter overhead, more than
 * the hashing itself. This loop calls OpenSSL's SHA-256 (SHA-NI where the CPU has
 * it) directly and releases the GIL, so two threads can share the work. The hash
 * primitive is OpenSSL's; only the loop is ours. Output is bit-identical to
 * hashlib.sha256(bytes([prefix]) + item).digest() for every item (tested).
 */
#define PY_SSIZE_T_CLEAN
#define OPENSSL_SUPPRESS_DEPRECATED
#include <Python.h>
#include <openssl/sha.h>
#include <string.h>

static PyObject *prefixed_digests(PyObject *self, PyObject *args) {
    int prefix;
    Py_ssize_t item_size;
    Py_buffer data, out;
    if (!PyArg_ParseTuple(args, "iy*nw*", &prefix, &data, &item_size, &out)) {
        return NULL;
    }
    PyObject *result = NULL;
    if (prefix < 0 || prefix > 255) {
        PyErr_SetString(PyExc_ValueError, "prefix must be a byte value 0..255");
        goto done;
    }
    if (item_size <= 0 || data.len % item_size != 0) {
        PyErr_SetString(PyExc_ValueError, "data length must be a positive multiple of item_size");
        goto done;
    }
    Py_ssize_t count = data.len / item_size;
    if (out.len != count * SHA256_DIGEST_LENGTH) {
        PyErr_SetString(PyExc_ValueError, "out must hold exactly 32 bytes per item");
        goto done;
    }
    const unsigned char *src = (const unsigned char *)data.buf;
    unsigned char *dst = (unsigned char *)out.buf;
    unsigned char prefix_byte = (unsigned char)prefix;
    Py_BEGIN_ALLOW_THREADS
    SHA256_CTX base, ctx;
    SHA256_Init(&base);
    SHA256_Update(&base, &prefix_byte, 1);
    for (Py_ssize_t i = 0; i < count; i++) {
        memcpy(&ctx, &base, sizeof ctx);
        SHA256_Update(&ctx, src + i * item_size, (size_t)item_size);
        SHA256_Final(dst + i * SHA256_DIGEST_LENGTH, &ctx);
    }
    Py_END_ALLOW_THREADS
    Py_INCREF(Py_None);
    result = Py_None;
done:
    PyBuffer_Release(&data);
    PyBuffer_Release(&out);
    return result;
}

static PyMethodDef methods[] = {
    {"prefixed_digests", prefixed_digests, METH_VARARGS,
     "prefixed_digests(prefix, data, item_size, out): out[32i:32i+32] = "
     "sha256(bytes([prefix]) + data[i*item_size:(i+1)*item_size]) for every item."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "sha256batch", "Batched prefixed SHA-256 over OpenSSL.", -1, methods,
};

PyMODINIT_FUNC PyInit_sha256batch(void) { return PyModule_Create(&module); }
