// nanoCLR's runtime header: nothing of it is used by firmware/nanoframework beyond what
// nanoCLR_Interop.h declares (CLR_RT_StackFrame stays opaque to the module).
#ifndef EQ_SHIM_NANOCLR_RUNTIME_H
#define EQ_SHIM_NANOCLR_RUNTIME_H
#include "nanoCLR_Interop.h"
#endif
