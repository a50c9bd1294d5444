#ifndef OCCUPANT_CMOSQUITTO_SHIM_H
#define OCCUPANT_CMOSQUITTO_SHIM_H
#include <mosquitto.h>
#endif
