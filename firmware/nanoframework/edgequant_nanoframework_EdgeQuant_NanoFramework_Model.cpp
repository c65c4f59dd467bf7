//
// InternalCall entry points of EdgeQuant.NanoFramework.Model (boards/nanoFramework/EdgeQuant.NanoFramework/Model.Native.cs).
// All are static methods: argument 0 is the first parameter. Each returns an eq_status to C# (which turns
// a failure into an exception naming it) and an HRESULT failure only for arguments C# never passes
// (null or mismatched arrays), which nanoCLR raises as an exception.
//
#include "edgequant_nanoframework.h"

typedef Library_edgequant_nanoframework_EdgeQuant_NanoFramework_Model EqNfModel;

HRESULT EqNfModel::NativeStateBytes___STATIC__I4(CLR_RT_StackFrame &stack)
{
    NANOCLR_HEADER();

    SetResult_INT32(stack, (signed int)sizeof(eq_model_t));

    NANOCLR_NOCLEANUP_NOLABEL();
}

// int NativeLoad(byte[] blob, byte[] state, int maxArenaBytes)
HRESULT EqNfModel::NativeLoad___STATIC__I4__SZARRAY_U1__SZARRAY_U1__I4(CLR_RT_StackFrame &stack)
{
    NANOCLR_HEADER();
    {
        CLR_RT_TypedArray_UINT8 blob;
        CLR_RT_TypedArray_UINT8 state;
        signed int maxArenaBytes;
        eq_model_t model;
        eq_load_options options;
        eq_status status;

        NANOCLR_CHECK_HRESULT(Interop_Marshal_UINT8_ARRAY(stack, 0, blob));
        NANOCLR_CHECK_HRESULT(Interop_Marshal_UINT8_ARRAY(stack, 1, state));
        NANOCLR_CHECK_HRESULT(Interop_Marshal_INT32(stack, 2, maxArenaBytes));
        FAULT_ON_NULL_ARG(blob.GetBuffer());
        FAULT_ON_NULL_ARG(state.GetBuffer());
        if (state.GetSize() != sizeof(eq_model_t) || maxArenaBytes <= 0)
            NANOCLR_SET_AND_LEAVE(CLR_E_INVALID_PARAMETER);

        memset(&model, 0, sizeof(model));
        // CRC checked; no work memory: validation uses the runtime's small stack area (enough for about
        // 50 tensors) and recomputes lifetimes beyond that, rather than taking heap from nanoCLR.
        memset(&options, 0, sizeof(options));
        options.max_arena_bytes = (uint32_t)maxArenaBytes;
        status = eq_model_init_ex(&model, blob.GetBuffer(), blob.GetSize(), &options);
        // Kept even on failure: NativeError reads model.error from it.
        memcpy(state.GetBuffer(), &model, sizeof(model));
        SetResult_INT32(stack, (signed int)status);
    }
    NANOCLR_NOCLEANUP();
}

// int NativeDescribe(byte[] blob, byte[] state, int[] info): info = [arena bytes, input count, output count]
HRESULT EqNfModel::NativeDescribe___STATIC__I4__SZARRAY_U1__SZARRAY_U1__SZARRAY_I4(CLR_RT_StackFrame &stack)
{
    NANOCLR_HEADER();
    {
        CLR_RT_TypedArray_UINT8 blob;
        CLR_RT_TypedArray_UINT8 state;
        CLR_RT_TypedArray_INT32 info;
        eq_model_t model;
        uint32_t arena = 0, inputs = 0, outputs = 0;
        eq_status status;

        NANOCLR_CHECK_HRESULT(Interop_Marshal_UINT8_ARRAY(stack, 0, blob));
        NANOCLR_CHECK_HRESULT(Interop_Marshal_UINT8_ARRAY(stack, 1, state));
        NANOCLR_CHECK_HRESULT(Interop_Marshal_INT32_ARRAY(stack, 2, info));
        FAULT_ON_NULL_ARG(info.GetBuffer());
        if (info.GetSize() < 3)
            NANOCLR_SET_AND_LEAVE(CLR_E_INVALID_PARAMETER);
        NANOCLR_CHECK_HRESULT(EqNf_RestoreModel(blob, state, model));

        status = eq_arena_bytes(&model, &arena);
        if (status == EQ_OK)
            status = eq_input_count(&model, &inputs);
        if (status == EQ_OK)
            status = eq_output_count(&model, &outputs);
        info[0] = (signed int)arena;
        info[1] = (signed int)inputs;
        info[2] = (signed int)outputs;
        SetResult_INT32(stack, (signed int)status);
    }
    NANOCLR_NOCLEANUP();
}

// int NativeTensor(byte[] blob, byte[] state, int output, int index, int[] info, float[] scale)
// info = [bytes, elements, type, zero point, rank, d0, d1, d2, d3]
HRESULT EqNfModel::NativeTensor___STATIC__I4__SZARRAY_U1__SZARRAY_U1__I4__I4__SZARRAY_I4__SZARRAY_R4(CLR_RT_StackFrame &stack)
{
    NANOCLR_HEADER();
    {
        CLR_RT_TypedArray_UINT8 blob;
        CLR_RT_TypedArray_UINT8 state;
        signed int output;
        signed int index;
        CLR_RT_TypedArray_INT32 info;
        CLR_RT_TypedArray_float scale;
        eq_model_t model;
        eq_interpreter_t it;
        eq_tensor_t view;
        eq_status status;
        // The views are read for their description only. There is no arena yet (the interpreter
        // allocates it later), so the view's data pointer is into this dummy and never used.
        uint8_t noArena[16];

        NANOCLR_CHECK_HRESULT(Interop_Marshal_UINT8_ARRAY(stack, 0, blob));
        NANOCLR_CHECK_HRESULT(Interop_Marshal_UINT8_ARRAY(stack, 1, state));
        NANOCLR_CHECK_HRESULT(Interop_Marshal_INT32(stack, 2, output));
        NANOCLR_CHECK_HRESULT(Interop_Marshal_INT32(stack, 3, index));
        NANOCLR_CHECK_HRESULT(Interop_Marshal_INT32_ARRAY(stack, 4, info));
        NANOCLR_CHECK_HRESULT(Interop_Marshal_float_ARRAY(stack, 5, scale));
        FAULT_ON_NULL_ARG(info.GetBuffer());
        FAULT_ON_NULL_ARG(scale.GetBuffer());
        if (info.GetSize() < 9 || scale.GetSize() < 1 || index < 0)
            NANOCLR_SET_AND_LEAVE(CLR_E_INVALID_PARAMETER);
        NANOCLR_CHECK_HRESULT(EqNf_RestoreModel(blob, state, model));

        it.model = &model;
        it.arena = noArena;
        it.arena_size = 0;
        status = output != 0 ? eq_output(&it, (uint32_t)index, &view) : eq_input(&it, (uint32_t)index, &view);
        if (status == EQ_OK)
        {
            info[0] = (signed int)view.bytes;
            info[1] = (signed int)view.elements;
            info[2] = (signed int)view.type;
            info[3] = (signed int)view.zero_point;
            info[4] = (signed int)view.rank;
            for (int k = 0; k < 4; k++)
                info[5 + k] = (signed int)view.dims[k];
            scale[0] = view.scale;
        }
        SetResult_INT32(stack, (signed int)status);
    }
    NANOCLR_NOCLEANUP();
}

// int NativeError(byte[] state, int[] where): where eq_model_init failed = [section, record, byte offset]
HRESULT EqNfModel::NativeError___STATIC__I4__SZARRAY_U1__SZARRAY_I4(CLR_RT_StackFrame &stack)
{
    NANOCLR_HEADER();
    {
        CLR_RT_TypedArray_UINT8 state;
        CLR_RT_TypedArray_INT32 where;
        eq_model_t model;

        NANOCLR_CHECK_HRESULT(Interop_Marshal_UINT8_ARRAY(stack, 0, state));
        NANOCLR_CHECK_HRESULT(Interop_Marshal_INT32_ARRAY(stack, 1, where));
        FAULT_ON_NULL_ARG(state.GetBuffer());
        FAULT_ON_NULL_ARG(where.GetBuffer());
        if (state.GetSize() != sizeof(eq_model_t) || where.GetSize() < 3)
            NANOCLR_SET_AND_LEAVE(CLR_E_INVALID_PARAMETER);

        memcpy(&model, state.GetBuffer(), sizeof(model));
        where[0] = (signed int)model.error.section;
        where[1] = (signed int)model.error.record;
        where[2] = (signed int)model.error.byte_offset;
        SetResult_INT32(stack, (signed int)EQ_OK);
    }
    NANOCLR_NOCLEANUP();
}

// string NativeStatusText(int status)
HRESULT EqNfModel::NativeStatusText___STATIC__STRING__I4(CLR_RT_StackFrame &stack)
{
    NANOCLR_HEADER();
    {
        signed int status;

        NANOCLR_CHECK_HRESULT(Interop_Marshal_INT32(stack, 0, status));
        SetResult_LPCSTR(stack, eq_status_str((eq_status)status));
    }
    NANOCLR_NOCLEANUP();
}
