#include "lwquic/common.h"

uint32_t lwq_version(void) { return LWQ_LIB_VERSION_NUM; }
const char *lwq_version_string(void) { return LWQ_LIB_VERSION_STR; }
