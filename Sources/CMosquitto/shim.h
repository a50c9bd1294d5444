#ifndef OCCUPANT_CMOSQUITTO_SHIM_H
#define OCCUPANT_CMOSQUITTO_SHIM_H
#include <mosquitto.h>
// The client's own network loop waits in poll() on its socket and an eventfd (see MosquittoClient).
#include <poll.h>
#include <sys/eventfd.h>
#endif
