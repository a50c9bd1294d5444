#ifndef OCCUPANT_CYAML_SHIM_H
#define OCCUPANT_CYAML_SHIM_H
#include <yaml.h>
#endif
