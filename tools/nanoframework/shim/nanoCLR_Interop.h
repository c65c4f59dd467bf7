//
// The part of nanoCLR's interop API (nf-interpreter src/CLR/Include/nanoCLR_Interop.h, nf_errors_exceptions.h,
// nanoCLR_Types.h) that firmware/nanoframework uses, declared with nanoFramework's documented signatures so
// the module compiles here without nf-interpreter. Written for this check from those declarations; nothing
// else of nanoCLR is declared, so a module that reached for more would not compile. The definitions of the
// functions come from the host harness (harness.cpp), which plays the nanoCLR's part.
//
#ifndef EQ_SHIM_NANOCLR_INTEROP_H
#define EQ_SHIM_NANOCLR_INTEROP_H

#include <stddef.h>
#include <stdint.h>

typedef int HRESULT;
#define SEVERITY_ERROR 1
#define SUCCEEDED(Status) ((HRESULT)(Status) >= 0)
#define FAILED(Status) ((HRESULT)(Status) < 0)
#define S_OK ((HRESULT)0x00000000L)
#define MAKE_HRESULT(sev, fac, code) ((HRESULT)(((unsigned long)(sev) << 31) | ((unsigned long)(fac) << 16) | ((unsigned long)(code))))

#define CLR_E_NULL_REFERENCE MAKE_HRESULT(SEVERITY_ERROR, 0x2100, 0x0000)
#define CLR_E_WRONG_TYPE MAKE_HRESULT(SEVERITY_ERROR, 0x2200, 0x0000)
#define CLR_E_OUT_OF_RANGE MAKE_HRESULT(SEVERITY_ERROR, 0x2500, 0x0000)
#define CLR_E_ARGUMENT_NULL MAKE_HRESULT(SEVERITY_ERROR, 0x4e00, 0x0000)
#define CLR_E_INVALID_PARAMETER MAKE_HRESULT(SEVERITY_ERROR, 0x7D00, 0x0000)

#define NANOCLR_LEAVE() goto nanoCLR_Cleanup
#define NANOCLR_RETURN() return hr
#define NANOCLR_HEADER() HRESULT hr
#define NANOCLR_CHECK_HRESULT(expr)                                                                                    \
    {                                                                                                                  \
        if (FAILED(hr = (expr)))                                                                                       \
            NANOCLR_LEAVE();                                                                                           \
    }
#define NANOCLR_SET_AND_LEAVE(expr)                                                                                    \
    {                                                                                                                  \
        hr = (expr);                                                                                                   \
        NANOCLR_LEAVE();                                                                                               \
    }
#define NANOCLR_CLEANUP()                                                                                              \
    hr = S_OK;                                                                                                         \
    nanoCLR_Cleanup:
#define NANOCLR_CLEANUP_END() NANOCLR_RETURN()
#define NANOCLR_NOCLEANUP()                                                                                            \
    NANOCLR_CLEANUP();                                                                                                 \
    NANOCLR_CLEANUP_END()
#define NANOCLR_NOCLEANUP_NOLABEL()                                                                                    \
    hr = S_OK;                                                                                                         \
    NANOCLR_RETURN()
#define FAULT_ON_NULL_ARG(ptr)                                                                                         \
    if (!(ptr))                                                                                                        \
    NANOCLR_SET_AND_LEAVE(CLR_E_ARGUMENT_NULL)

struct CLR_RECORD_VERSION
{
    uint16_t iMajorVersion;
    uint16_t iMinorVersion;
    uint16_t iBuildNumber;
    uint16_t iRevisionNumber;
};

struct CLR_RT_StackFrame;

#define NANOCLR_NATIVE_DECLARE(mtd) static HRESULT mtd(CLR_RT_StackFrame &stack)

typedef HRESULT (*CLR_RT_MethodHandler)(CLR_RT_StackFrame &stack);

struct CLR_RT_NativeAssemblyData
{
    const char *m_szAssemblyName;
    unsigned int m_checkSum;
    const void *m_pNativeMethods;
    CLR_RECORD_VERSION m_Version;
};

template <class T> class CLR_RT_TypedArray
{
    T *m_pData;
    unsigned int m_ElemCount;

    friend HRESULT Interop_Marshal_UINT8_ARRAY(const CLR_RT_StackFrame &stackFrame, unsigned int paramIndex, CLR_RT_TypedArray<unsigned char> &typedArray);
    friend HRESULT Interop_Marshal_INT8_ARRAY(const CLR_RT_StackFrame &stackFrame, unsigned int paramIndex, CLR_RT_TypedArray<signed char> &typedArray);
    friend HRESULT Interop_Marshal_INT32_ARRAY(const CLR_RT_StackFrame &stackFrame, unsigned int paramIndex, CLR_RT_TypedArray<signed int> &typedArray);
    friend HRESULT Interop_Marshal_float_ARRAY(const CLR_RT_StackFrame &stackFrame, unsigned int paramIndex, CLR_RT_TypedArray<float> &typedArray);

  public:
    CLR_RT_TypedArray()
    {
        m_pData = NULL;
        m_ElemCount = 0;
    }
    T &operator[](unsigned int i)
    {
        return m_pData[i];
    }
    unsigned int GetSize()
    {
        return m_ElemCount;
    }
    T *GetBuffer()
    {
        return m_pData;
    }
};

typedef CLR_RT_TypedArray<unsigned char> CLR_RT_TypedArray_UINT8;
typedef CLR_RT_TypedArray<signed char> CLR_RT_TypedArray_INT8;
typedef CLR_RT_TypedArray<signed int> CLR_RT_TypedArray_INT32;
typedef CLR_RT_TypedArray<float> CLR_RT_TypedArray_float;

HRESULT Interop_Marshal_INT32(const CLR_RT_StackFrame &stackFrame, unsigned int paramIndex, signed int &param);
HRESULT Interop_Marshal_UINT8_ARRAY(const CLR_RT_StackFrame &stackFrame, unsigned int paramIndex, CLR_RT_TypedArray_UINT8 &typedArray);
HRESULT Interop_Marshal_INT8_ARRAY(const CLR_RT_StackFrame &stackFrame, unsigned int paramIndex, CLR_RT_TypedArray_INT8 &typedArray);
HRESULT Interop_Marshal_INT32_ARRAY(const CLR_RT_StackFrame &stackFrame, unsigned int paramIndex, CLR_RT_TypedArray_INT32 &typedArray);
HRESULT Interop_Marshal_float_ARRAY(const CLR_RT_StackFrame &stackFrame, unsigned int paramIndex, CLR_RT_TypedArray_float &typedArray);

void SetResult_INT32(CLR_RT_StackFrame &stackFrame, signed int value);
void SetResult_LPCSTR(CLR_RT_StackFrame &stackFrame, const char *value);

#endif
