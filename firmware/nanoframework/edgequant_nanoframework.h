//
// EdgeQuant native interop module for nanoFramework: the native half of the C# assembly
// EdgeQuant.NanoFramework (boards/nanoFramework/EdgeQuant.NanoFramework). Laid out as nanoFramework's
// MetadataProcessor lays out interop stubs: this header, the method lookup table and assembly record
// (edgequant_nanoframework.cpp), and one source file per C# class with InternalCall methods.
//
// The entry points are thin: they unpack the managed arguments, restore the model (an eq_model_t kept
// by the C# side in a byte[], re-pointed at the blob on every call because nanoCLR's compacting GC may
// move arrays between calls) and call the C runtime (firmware/include/edgequant.h). They hold no state.
//
#ifndef EDGEQUANT_NANOFRAMEWORK_H
#define EDGEQUANT_NANOFRAMEWORK_H

#include <nanoCLR_Interop.h>
#include <nanoCLR_Runtime.h>

#include <string.h>

#include "edgequant.h"

// The assembly name and checksum nanoCLR pairs with this table when it loads EdgeQuant.NanoFramework.pe.
// The checksum is computed by nanoFramework's MetadataProcessor from the assembly's InternalCall
// signatures and printed in the stubs it generates (Stubs/edgequant_nanoframework.cpp); pass it with
// -DEQ_NF_NATIVE_CHECKSUM=0x... (FindINTEROP-EdgeQuant.NanoFramework.cmake: EQ_NF_NATIVE_CHECKSUM).
#define EQ_NF_ASSEMBLY_NAME "EdgeQuant.NanoFramework"
#ifndef EQ_NF_NATIVE_CHECKSUM
#define EQ_NF_NATIVE_CHECKSUM 0x00000000
#endif
// Must match [assembly: AssemblyNativeVersion("0.1.0.0")] in Properties/AssemblyInfo.cs.
#define EQ_NF_NATIVE_VERSION {0, 1, 0, 0}

struct Library_edgequant_nanoframework_EdgeQuant_NanoFramework_Interpreter
{
    NANOCLR_NATIVE_DECLARE(SetInputNative___STATIC__I4__SZARRAY_U1__SZARRAY_U1__SZARRAY_I4__I4__SZARRAY_I1__I4);
    NANOCLR_NATIVE_DECLARE(GetOutputNative___STATIC__I4__SZARRAY_U1__SZARRAY_U1__SZARRAY_I4__I4__SZARRAY_I1__I4);
    NANOCLR_NATIVE_DECLARE(InvokeNative___STATIC__I4__SZARRAY_U1__SZARRAY_U1__SZARRAY_I4);
};

struct Library_edgequant_nanoframework_EdgeQuant_NanoFramework_Model
{
    NANOCLR_NATIVE_DECLARE(NativeStateBytes___STATIC__I4);
    NANOCLR_NATIVE_DECLARE(NativeLoad___STATIC__I4__SZARRAY_U1__SZARRAY_U1__I4);
    NANOCLR_NATIVE_DECLARE(NativeDescribe___STATIC__I4__SZARRAY_U1__SZARRAY_U1__SZARRAY_I4);
    NANOCLR_NATIVE_DECLARE(NativeTensor___STATIC__I4__SZARRAY_U1__SZARRAY_U1__I4__I4__SZARRAY_I4__SZARRAY_R4);
    NANOCLR_NATIVE_DECLARE(NativeError___STATIC__I4__SZARRAY_U1__SZARRAY_I4);
    NANOCLR_NATIVE_DECLARE(NativeStatusText___STATIC__STRING__I4);
};

extern const CLR_RT_NativeAssemblyData g_CLR_AssemblyNative_EdgeQuant_NanoFramework;

// Restores the eq_model_t that NativeLoad stored in `state` and points it at the blob's current address.
// CLR_E_INVALID_PARAMETER when the arrays are not the ones NativeLoad saw (wrong state size or blob size)
// or the state holds a rejected model (the C runtime marks one with a NULL blob: it must stay unusable).
inline HRESULT EqNf_RestoreModel(CLR_RT_TypedArray_UINT8 &blob, CLR_RT_TypedArray_UINT8 &state, eq_model_t &model)
{
    if (blob.GetBuffer() == NULL || state.GetBuffer() == NULL)
        return CLR_E_ARGUMENT_NULL;
    if (state.GetSize() != sizeof(eq_model_t))
        return CLR_E_INVALID_PARAMETER;
    memcpy(&model, state.GetBuffer(), sizeof(eq_model_t));
    if (model.blob == NULL || model.blob_size != blob.GetSize())
        return CLR_E_INVALID_PARAMETER;
    model.blob = blob.GetBuffer();
    return S_OK;
}

#endif // EDGEQUANT_NANOFRAMEWORK_H
