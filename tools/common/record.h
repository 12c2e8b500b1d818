/* --record FILE (record.c): a connection's datagrams and key, loss and probe events as text lines:
 *   dgram sent|recv HEX      pkt sent|recv EPOCH PN      keys EPOCH DETAIL
 *   lost EPOCH PN RULE THRESHOLD      pto EPOCH COUNT
 * in the order the endpoint saw them (a sent datagram's packets before it, a received one's after it). Chains to a
 * trace already installed (--explain). */
#ifndef LWQ_TOOLS_RECORD_H
#define LWQ_TOOLS_RECORD_H

#include "lwquic/quic.h"

int cli_record(lwq_config *cfg, const char *path);

#endif
