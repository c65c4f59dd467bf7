//
// InternalCall entry points of EdgeQuant.NanoFramework.Interpreter (boards/nanoFramework/EdgeQuant.NanoFramework/Interpreter.Native.cs).
// The arena is the interpreter's int[] (4-byte aligned, as the C runtime requires); eq_interpreter_init is
// repeated on every call (it only checks sizes) because the arrays may have moved since the last one.
//
#include "edgequant_nanoframework.h"

typedef Library_edgequant_nanoframework_EdgeQuant_NanoFramework_Interpreter EqNfInterpreter;

// Binds the restored model to the managed arena.
static HRESULT EqNf_Bind(
    CLR_RT_TypedArray_UINT8 &blob,
    CLR_RT_TypedArray_UINT8 &state,
    CLR_RT_TypedArray_INT32 &arena,
    eq_model_t &model,
    eq_interpreter_t &it,
    eq_status &status)
{
    HRESULT hr = EqNf_RestoreModel(blob, state, model);
    if (FAILED(hr))
        return hr;
    if (arena.GetBuffer() == NULL)
        return CLR_E_ARGUMENT_NULL;
    status = eq_interpreter_init(&it, &model, arena.GetBuffer(), (size_t)arena.GetSize() * sizeof(signed int));
    return S_OK;
}

// Input (output = false) or output `index` as an int8 view; `offset` + its length must fit `count`.
static HRESULT EqNf_Int8View(eq_interpreter_t &it, bool output, signed int index, signed int offset, unsigned int count, eq_tensor_t &view, eq_status &status)
{
    if (index < 0)
        return CLR_E_INVALID_PARAMETER;
    status = output ? eq_output(&it, (uint32_t)index, &view) : eq_input(&it, (uint32_t)index, &view);
    if (status != EQ_OK)
        return S_OK;
    if (view.type != EQ_TYPE_INT8)
    {
        status = EQ_ERR_NOT_INT8;
        return S_OK;
    }
    if (offset < 0 || (unsigned int)offset > count || count - (unsigned int)offset < view.bytes)
        return CLR_E_OUT_OF_RANGE;
    return S_OK;
}

// int SetInputNative(byte[] blob, byte[] state, int[] arena, int index, sbyte[] source, int offset)
HRESULT EqNfInterpreter::SetInputNative___STATIC__I4__SZARRAY_U1__SZARRAY_U1__SZARRAY_I4__I4__SZARRAY_I1__I4(CLR_RT_StackFrame &stack)
{
    NANOCLR_HEADER();
    {
        CLR_RT_TypedArray_UINT8 blob;
        CLR_RT_TypedArray_UINT8 state;
        CLR_RT_TypedArray_INT32 arena;
        signed int index;
        CLR_RT_TypedArray_INT8 source;
        signed int offset;
        eq_model_t model;
        eq_interpreter_t it;
        eq_tensor_t view;
        eq_status status = EQ_OK;

        NANOCLR_CHECK_HRESULT(Interop_Marshal_UINT8_ARRAY(stack, 0, blob));
        NANOCLR_CHECK_HRESULT(Interop_Marshal_UINT8_ARRAY(stack, 1, state));
        NANOCLR_CHECK_HRESULT(Interop_Marshal_INT32_ARRAY(stack, 2, arena));
        NANOCLR_CHECK_HRESULT(Interop_Marshal_INT32(stack, 3, index));
        NANOCLR_CHECK_HRESULT(Interop_Marshal_INT8_ARRAY(stack, 4, source));
        NANOCLR_CHECK_HRESULT(Interop_Marshal_INT32(stack, 5, offset));
        FAULT_ON_NULL_ARG(source.GetBuffer());
        NANOCLR_CHECK_HRESULT(EqNf_Bind(blob, state, arena, model, it, status));
        if (status == EQ_OK)
        {
            NANOCLR_CHECK_HRESULT(EqNf_Int8View(it, false, index, offset, source.GetSize(), view, status));
            if (status == EQ_OK)
                memcpy(view.data, source.GetBuffer() + offset, view.bytes);
        }
        SetResult_INT32(stack, (signed int)status);
    }
    NANOCLR_NOCLEANUP();
}

// int GetOutputNative(byte[] blob, byte[] state, int[] arena, int index, sbyte[] destination, int offset)
HRESULT EqNfInterpreter::GetOutputNative___STATIC__I4__SZARRAY_U1__SZARRAY_U1__SZARRAY_I4__I4__SZARRAY_I1__I4(CLR_RT_StackFrame &stack)
{
    NANOCLR_HEADER();
    {
        CLR_RT_TypedArray_UINT8 blob;
        CLR_RT_TypedArray_UINT8 state;
        CLR_RT_TypedArray_INT32 arena;
        signed int index;
        CLR_RT_TypedArray_INT8 destination;
        signed int offset;
        eq_model_t model;
        eq_interpreter_t it;
        eq_tensor_t view;
        eq_status status = EQ_OK;

        NANOCLR_CHECK_HRESULT(Interop_Marshal_UINT8_ARRAY(stack, 0, blob));
        NANOCLR_CHECK_HRESULT(Interop_Marshal_UINT8_ARRAY(stack, 1, state));
        NANOCLR_CHECK_HRESULT(Interop_Marshal_INT32_ARRAY(stack, 2, arena));
        NANOCLR_CHECK_HRESULT(Interop_Marshal_INT32(stack, 3, index));
        NANOCLR_CHECK_HRESULT(Interop_Marshal_INT8_ARRAY(stack, 4, destination));
        NANOCLR_CHECK_HRESULT(Interop_Marshal_INT32(stack, 5, offset));
        FAULT_ON_NULL_ARG(destination.GetBuffer());
        NANOCLR_CHECK_HRESULT(EqNf_Bind(blob, state, arena, model, it, status));
        if (status == EQ_OK)
        {
            NANOCLR_CHECK_HRESULT(EqNf_Int8View(it, true, index, offset, destination.GetSize(), view, status));
            if (status == EQ_OK)
                memcpy(destination.GetBuffer() + offset, view.data, view.bytes);
        }
        SetResult_INT32(stack, (signed int)status);
    }
    NANOCLR_NOCLEANUP();
}

// int InvokeNative(byte[] blob, byte[] state, int[] arena)
HRESULT EqNfInterpreter::InvokeNative___STATIC__I4__SZARRAY_U1__SZARRAY_U1__SZARRAY_I4(CLR_RT_StackFrame &stack)
{
    NANOCLR_HEADER();
    {
        CLR_RT_TypedArray_UINT8 blob;
        CLR_RT_TypedArray_UINT8 state;
        CLR_RT_TypedArray_INT32 arena;
        eq_model_t model;
        eq_interpreter_t it;
        eq_status status = EQ_OK;

        NANOCLR_CHECK_HRESULT(Interop_Marshal_UINT8_ARRAY(stack, 0, blob));
        NANOCLR_CHECK_HRESULT(Interop_Marshal_UINT8_ARRAY(stack, 1, state));
        NANOCLR_CHECK_HRESULT(Interop_Marshal_INT32_ARRAY(stack, 2, arena));
        NANOCLR_CHECK_HRESULT(EqNf_Bind(blob, state, arena, model, it, status));
        if (status == EQ_OK)
            status = eq_invoke(&it);
        SetResult_INT32(stack, (signed int)status);
    }
    NANOCLR_NOCLEANUP();
}
