/* A one-function CPython extension for bench/app_calls.py: the same C call as through ctypes
 * (lwq_msg_strerror), to compare per-call overheads. Built by bench/app.sh when Python.h is there. */
#include <Python.h>
#include "lwquic/app.h"

static PyObject *strerror_fn(PyObject *self, PyObject *arg)
{
    (void)self;
    return PyBytes_FromString(lwq_msg_strerror(PyLong_AsUnsignedLongLong(arg)));
}

static PyMethodDef methods[] = {{"msg_strerror", strerror_fn, METH_O, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "lwq_bench_ext", NULL, -1, methods};
PyMODINIT_FUNC PyInit_lwq_bench_ext(void)
{
    return PyModule_Create(&mod);
}
