#include "netc_kernels.h"
#include "instruction_set.h"

int netc_widest_instruction_set(void) { return netc_instruction_set(); }
