//
// Host harness for firmware/nanoframework: plays the nanoCLR's part. It holds "managed" arrays the way
// nanoCLR does (a heap block with an element count, data in place), puts the arguments of each call into
// a stack frame (argument 0 = first parameter of a static method), calls the entry points through the
// module's method lookup table, as nanoCLR does, and reads back the result slot. The arrays are moved
// between calls (as nanoCLR's compacting GC may) to prove the module keeps no pointer across calls.
//
// For every zoo golden file (tests/zoo/eqm) it runs every committed sample through the entry points and
// compares the outputs byte for byte with <name>.output.bin; then it checks the failure paths.
// Prints "N passed, N failed".
//
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <string>
#include <vector>

#include "edgequant_nanoframework.h"

// ---- the nanoCLR side --------------------------------------------------------------------------

enum ArgKind { ARG_NONE, ARG_I4, ARG_U1_ARRAY, ARG_I1_ARRAY, ARG_I4_ARRAY, ARG_R4_ARRAY, ARG_NULL };

// A managed array: element count, then the elements (nanoCLR's CLR_RT_HeapBlock_Array keeps the count
// in its header and the data right after it). Data is 4-byte aligned as on the device heap.
struct ManagedArray
{
    ArgKind kind;
    unsigned int count;
    unsigned int elementSize;
    void *data;
};

struct CLR_RT_StackFrame
{
    ArgKind kind[8];
    signed int i4[8];
    ManagedArray *array[8];
    bool hasResult;
    signed int resultI4;
    std::string resultString;
    bool resultIsString;
};

static HRESULT MarshalArray(const CLR_RT_StackFrame &s, unsigned int i, ArgKind kind, void *&data, unsigned int &count)
{
    if (i >= 8)
        return CLR_E_INVALID_PARAMETER;
    if (s.kind[i] == ARG_NULL)
    {
        data = NULL;
        count = 0;
        return S_OK;
    }
    if (s.kind[i] != kind)
        return CLR_E_WRONG_TYPE;
    data = s.array[i]->data;
    count = s.array[i]->count;
    return S_OK;
}

HRESULT Interop_Marshal_INT32(const CLR_RT_StackFrame &s, unsigned int i, signed int &param)
{
    if (i >= 8 || s.kind[i] != ARG_I4)
        return CLR_E_WRONG_TYPE;
    param = s.i4[i];
    return S_OK;
}

#define MARSHAL_ARRAY(fn, T, K)                                                                                        \
    HRESULT fn(const CLR_RT_StackFrame &s, unsigned int i, CLR_RT_TypedArray<T> &a)                                     \
    {                                                                                                                  \
        void *d;                                                                                                       \
        unsigned int n;                                                                                                \
        HRESULT hr = MarshalArray(s, i, K, d, n);                                                                      \
        if (FAILED(hr))                                                                                                \
            return hr;                                                                                                 \
        a.m_pData = (T *)d;                                                                                            \
        a.m_ElemCount = n;                                                                                             \
        return S_OK;                                                                                                   \
    }
MARSHAL_ARRAY(Interop_Marshal_UINT8_ARRAY, unsigned char, ARG_U1_ARRAY)
MARSHAL_ARRAY(Interop_Marshal_INT8_ARRAY, signed char, ARG_I1_ARRAY)
MARSHAL_ARRAY(Interop_Marshal_INT32_ARRAY, signed int, ARG_I4_ARRAY)
MARSHAL_ARRAY(Interop_Marshal_float_ARRAY, float, ARG_R4_ARRAY)

void SetResult_INT32(CLR_RT_StackFrame &s, signed int value)
{
    s.hasResult = true;
    s.resultIsString = false;
    s.resultI4 = value;
}

void SetResult_LPCSTR(CLR_RT_StackFrame &s, const char *value)
{
    s.hasResult = true;
    s.resultIsString = true;
    s.resultString = value ? value : "";
}

static ManagedArray *NewArray(ArgKind kind, unsigned int count)
{
    unsigned int size = kind == ARG_U1_ARRAY || kind == ARG_I1_ARRAY ? 1 : 4;
    ManagedArray *a = new ManagedArray;
    a->kind = kind;
    a->count = count;
    a->elementSize = size;
    a->data = calloc(count * size + 16, 1);
    return a;
}

// What nanoCLR's GC may do between two calls: the array's data moves to another address.
static void Move(ManagedArray *a)
{
    size_t bytes = (size_t)a->count * a->elementSize;
    void *fresh = malloc(bytes + 16);
    memcpy(fresh, a->data, bytes);
    memset(a->data, 0xA5, bytes);
    free(a->data);
    a->data = fresh;
}

static void FreeArray(ManagedArray *a)
{
    free(a->data);
    delete a;
}

// A call frame being built: arguments in order.
struct Call
{
    CLR_RT_StackFrame frame;
    unsigned int n;
    Call() : n(0)
    {
        memset(frame.kind, 0, sizeof(frame.kind));
        memset(frame.i4, 0, sizeof(frame.i4));
        memset(frame.array, 0, sizeof(frame.array));
        frame.hasResult = false;
        frame.resultIsString = false;
        frame.resultI4 = 0;
    }
    Call &I4(signed int v)
    {
        frame.kind[n] = ARG_I4;
        frame.i4[n++] = v;
        return *this;
    }
    Call &Array(ManagedArray *a)
    {
        frame.kind[n] = a ? a->kind : ARG_NULL;
        frame.array[n++] = a;
        return *this;
    }
};

// The lookup table, as nanoCLR reads it.
static const CLR_RT_MethodHandler *Table()
{
    return (const CLR_RT_MethodHandler *)g_CLR_AssemblyNative_EdgeQuant_NanoFramework.m_pNativeMethods;
}

static int g_passed, g_failed;

static void Check(bool ok, const std::string &what)
{
    if (ok)
        g_passed++;
    else
    {
        g_failed++;
        printf("FAIL: %s\n", what.c_str());
    }
}

// Calls the entry point `handler` the way nanoCLR does: through its table slot.
static HRESULT Invoke(CLR_RT_MethodHandler handler, Call &c)
{
    const CLR_RT_MethodHandler *t = Table();
    for (int i = 0; i < 256; i++)
        if (t[i] == handler)
            return t[i](c.frame);
    printf("FAIL: handler not in the method lookup table\n");
    g_failed++;
    return CLR_E_INVALID_PARAMETER;
}

typedef Library_edgequant_nanoframework_EdgeQuant_NanoFramework_Model M;
typedef Library_edgequant_nanoframework_EdgeQuant_NanoFramework_Interpreter I;

static std::vector<unsigned char> ReadFile(const std::string &path)
{
    std::vector<unsigned char> v;
    FILE *f = fopen(path.c_str(), "rb");
    if (!f)
        return v;
    unsigned char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        v.insert(v.end(), buf, buf + n);
    fclose(f);
    return v;
}

// ---- the managed side, as Model.Native.cs and Interpreter.Native.cs call it ----------------------

struct NativeModel
{
    ManagedArray *blob;
    ManagedArray *state;
    int arena, inputs, outputs;
};

static bool LoadModel(const std::vector<unsigned char> &bytes, NativeModel &m, int &status)
{
    m.blob = NewArray(ARG_U1_ARRAY, (unsigned int)bytes.size());
    memcpy(m.blob->data, bytes.data(), bytes.size());
    Call size;
    if (FAILED(Invoke(M::NativeStateBytes___STATIC__I4, size)))
        return false;
    m.state = NewArray(ARG_U1_ARRAY, (unsigned int)size.frame.resultI4);
    Call load;
    load.Array(m.blob).Array(m.state).I4(1 << 20);
    if (FAILED(Invoke(M::NativeLoad___STATIC__I4__SZARRAY_U1__SZARRAY_U1__I4, load)))
        return false;
    status = load.frame.resultI4;
    if (status != 0)
        return true;
    ManagedArray *info = NewArray(ARG_I4_ARRAY, 3);
    Call d;
    d.Array(m.blob).Array(m.state).Array(info);
    HRESULT hr = Invoke(M::NativeDescribe___STATIC__I4__SZARRAY_U1__SZARRAY_U1__SZARRAY_I4, d);
    int *v = (int *)info->data;
    m.arena = v[0];
    m.inputs = v[1];
    m.outputs = v[2];
    FreeArray(info);
    return SUCCEEDED(hr) && d.frame.resultI4 == 0;
}

static bool TensorInfo(NativeModel &m, int output, int index, int info[9], float &scale)
{
    ManagedArray *i = NewArray(ARG_I4_ARRAY, 9), *s = NewArray(ARG_R4_ARRAY, 1);
    Call c;
    c.Array(m.blob).Array(m.state).I4(output).I4(index).Array(i).Array(s);
    HRESULT hr = Invoke(M::NativeTensor___STATIC__I4__SZARRAY_U1__SZARRAY_U1__I4__I4__SZARRAY_I4__SZARRAY_R4, c);
    memcpy(info, i->data, 9 * sizeof(int));
    scale = *(float *)s->data;
    FreeArray(i);
    FreeArray(s);
    return SUCCEEDED(hr) && c.frame.resultI4 == 0;
}

static void ZooModel(const std::string &dir, const std::string &name)
{
    std::vector<unsigned char> blob = ReadFile(dir + "/" + name + ".eqm");
    std::vector<unsigned char> inputs = ReadFile(dir + "/" + name + ".input.bin");
    std::vector<unsigned char> expected = ReadFile(dir + "/" + name + ".output.bin");
    if (blob.empty() || inputs.empty() || expected.empty())
    {
        Check(false, name + ": golden files missing in " + dir);
        return;
    }
    NativeModel m;
    int status = -1;
    if (!LoadModel(blob, m, status) || status != 0)
    {
        Check(false, name + ": NativeLoad status " + std::to_string(status));
        return;
    }
    int in[9], out[9];
    float inScale, outScale;
    if (!TensorInfo(m, 0, 0, in, inScale) || !TensorInfo(m, 1, 0, out, outScale) || in[2] != EQ_TYPE_INT8 || out[2] != EQ_TYPE_INT8)
    {
        Check(false, name + ": NativeTensor");
        return;
    }
    int inBytes = in[0], outBytes = out[0];
    size_t samples = inputs.size() / (size_t)inBytes;
    if (samples * (size_t)inBytes != inputs.size() || samples * (size_t)outBytes != expected.size())
    {
        Check(false, name + ": golden file sizes do not match the model's input/output sizes");
        return;
    }
    ManagedArray *arena = NewArray(ARG_I4_ARRAY, (unsigned int)(m.arena + 3) / 4 + 1);
    ManagedArray *source = NewArray(ARG_I1_ARRAY, (unsigned int)inputs.size());
    ManagedArray *destination = NewArray(ARG_I1_ARRAY, (unsigned int)expected.size());
    memcpy(source->data, inputs.data(), inputs.size());
    bool ok = true;
    for (size_t s = 0; s < samples && ok; s++)
    {
        if (s % 97 == 13)
        {
            Move(m.blob);
            Move(arena);
            Move(source);
        }
        Call set, inv, get;
        set.Array(m.blob).Array(m.state).Array(arena).I4(0).Array(source).I4((int)s * inBytes);
        inv.Array(m.blob).Array(m.state).Array(arena);
        get.Array(m.blob).Array(m.state).Array(arena).I4(0).Array(destination).I4((int)s * outBytes);
        HRESULT h1 = Invoke(I::SetInputNative___STATIC__I4__SZARRAY_U1__SZARRAY_U1__SZARRAY_I4__I4__SZARRAY_I1__I4, set);
        if (s % 97 == 14)
            Move(m.blob);
        HRESULT h2 = Invoke(I::InvokeNative___STATIC__I4__SZARRAY_U1__SZARRAY_U1__SZARRAY_I4, inv);
        HRESULT h3 = Invoke(I::GetOutputNative___STATIC__I4__SZARRAY_U1__SZARRAY_U1__SZARRAY_I4__I4__SZARRAY_I1__I4, get);
        if (FAILED(h1) || FAILED(h2) || FAILED(h3) || set.frame.resultI4 || inv.frame.resultI4 || get.frame.resultI4)
        {
            printf("%s: sample %zu: HRESULTs %08x %08x %08x, statuses %d %d %d\n", name.c_str(), s, (unsigned)h1, (unsigned)h2, (unsigned)h3,
                set.frame.resultI4, inv.frame.resultI4, get.frame.resultI4);
            ok = false;
        }
    }
    if (ok && memcmp(destination->data, expected.data(), expected.size()) != 0)
    {
        const unsigned char *d = (const unsigned char *)destination->data;
        size_t i = 0;
        while (d[i] == expected[i])
            i++;
        printf("%s: sample %zu, output byte %zu: native %d, C# runtime %d\n", name.c_str(), i / outBytes, i % outBytes, (signed char)d[i], (signed char)expected[i]);
        ok = false;
    }
    Check(ok, name + ": " + std::to_string(samples) + " samples through the entry points match output.bin");
    if (ok)
        printf("ok %s: %zu samples byte-exact (arena %d bytes)\n", name.c_str(), samples, m.arena);
    FreeArray(arena);
    FreeArray(source);
    FreeArray(destination);
    FreeArray(m.blob);
    FreeArray(m.state);
}

static void FailurePaths(const std::string &dir)
{
    std::vector<unsigned char> blob = ReadFile(dir + "/mnist_cnn.eqm");
    NativeModel m;
    int status = -1;

    // A corrupt blob: a status naming the problem, and where.
    std::vector<unsigned char> bad = blob;
    bad[bad.size() - 1] ^= 1;
    Check(LoadModel(bad, m, status) && status == EQ_ERR_CRC, "corrupt blob: NativeLoad returns EQ_ERR_CRC");
    Call text;
    text.I4(status);
    Check(SUCCEEDED(Invoke(M::NativeStatusText___STATIC__STRING__I4, text)) && text.frame.resultIsString &&
              text.frame.resultString.find("EQ_ERR_CRC") != std::string::npos,
        "NativeStatusText names the status (" + text.frame.resultString + ")");
    ManagedArray *where = NewArray(ARG_I4_ARRAY, 3);
    Call err;
    err.Array(m.state).Array(where);
    Check(SUCCEEDED(Invoke(M::NativeError___STATIC__I4__SZARRAY_U1__SZARRAY_I4, err)) && ((int *)where->data)[0] == EQ_SECTION_HEADER,
        "NativeError reports the header section for a CRC failure");
    FreeArray(where);
    ManagedArray *rejectedArena = NewArray(ARG_I4_ARRAY, 4096);
    Call revive;
    revive.Array(m.blob).Array(m.state).Array(rejectedArena);
    Check(Invoke(I::InvokeNative___STATIC__I4__SZARRAY_U1__SZARRAY_U1__SZARRAY_I4, revive) == CLR_E_INVALID_PARAMETER,
        "the state of a rejected model stays unusable: CLR_E_INVALID_PARAMETER");
    FreeArray(rejectedArena);
    FreeArray(m.blob);
    FreeArray(m.state);

    bad = blob;
    bad[0] = 'X';
    Check(LoadModel(bad, m, status) && status == EQ_ERR_HEADER, "bad magic: NativeLoad returns EQ_ERR_HEADER");
    FreeArray(m.blob);
    FreeArray(m.state);

    // The arena limit is honoured.
    ManagedArray *b = NewArray(ARG_U1_ARRAY, (unsigned int)blob.size());
    memcpy(b->data, blob.data(), blob.size());
    Call size;
    Invoke(M::NativeStateBytes___STATIC__I4, size);
    ManagedArray *st = NewArray(ARG_U1_ARRAY, (unsigned int)size.frame.resultI4);
    Call small;
    small.Array(b).Array(st).I4(100);
    Check(SUCCEEDED(Invoke(M::NativeLoad___STATIC__I4__SZARRAY_U1__SZARRAY_U1__I4, small)) && small.frame.resultI4 == EQ_ERR_MEMORY_PLAN,
        "an arena above maxArenaBytes: EQ_ERR_MEMORY_PLAN");

    // Arguments C# never passes are refused with an HRESULT, not a crash.
    Call nullBlob;
    nullBlob.Array(NULL).Array(st).I4(1 << 20);
    Check(Invoke(M::NativeLoad___STATIC__I4__SZARRAY_U1__SZARRAY_U1__I4, nullBlob) == CLR_E_ARGUMENT_NULL, "null blob: CLR_E_ARGUMENT_NULL");
    ManagedArray *shortState = NewArray(ARG_U1_ARRAY, 4);
    Call wrongState;
    wrongState.Array(b).Array(shortState).I4(1 << 20);
    Check(Invoke(M::NativeLoad___STATIC__I4__SZARRAY_U1__SZARRAY_U1__I4, wrongState) == CLR_E_INVALID_PARAMETER, "state of the wrong size: CLR_E_INVALID_PARAMETER");
    Call wrongType;
    wrongType.I4(3).Array(st).I4(1 << 20);
    Check(Invoke(M::NativeLoad___STATIC__I4__SZARRAY_U1__SZARRAY_U1__I4, wrongType) == CLR_E_WRONG_TYPE, "int where a byte[] is declared: the marshaller's CLR_E_WRONG_TYPE");

    Call load;
    load.Array(b).Array(st).I4(1 << 20);
    Invoke(M::NativeLoad___STATIC__I4__SZARRAY_U1__SZARRAY_U1__I4, load);
    Check(load.frame.resultI4 == 0, "mnist_cnn loads");
    ManagedArray *tinyArena = NewArray(ARG_I4_ARRAY, 4);
    Call inv;
    inv.Array(b).Array(st).Array(tinyArena);
    Check(SUCCEEDED(Invoke(I::InvokeNative___STATIC__I4__SZARRAY_U1__SZARRAY_U1__SZARRAY_I4, inv)) && inv.frame.resultI4 == EQ_ERR_ARENA_TOO_SMALL,
        "an arena smaller than the model needs: EQ_ERR_ARENA_TOO_SMALL");
    ManagedArray *arena = NewArray(ARG_I4_ARRAY, 4096);
    ManagedArray *src = NewArray(ARG_I1_ARRAY, 784);
    Call past;
    past.Array(b).Array(st).Array(arena).I4(0).Array(src).I4(1);
    Check(Invoke(I::SetInputNative___STATIC__I4__SZARRAY_U1__SZARRAY_U1__SZARRAY_I4__I4__SZARRAY_I1__I4, past) == CLR_E_OUT_OF_RANGE,
        "a source too short for the input at that offset: CLR_E_OUT_OF_RANGE");
    Call badIndex;
    badIndex.Array(b).Array(st).Array(arena).I4(1).Array(src).I4(0);
    Check(SUCCEEDED(Invoke(I::SetInputNative___STATIC__I4__SZARRAY_U1__SZARRAY_U1__SZARRAY_I4__I4__SZARRAY_I1__I4, badIndex)) && badIndex.frame.resultI4 == EQ_ERR_ARGUMENT,
        "input 1 of a one-input model: EQ_ERR_ARGUMENT");
    std::vector<unsigned char> other = ReadFile(dir + "/digits_mlp.eqm");
    ManagedArray *ob = NewArray(ARG_U1_ARRAY, (unsigned int)other.size());
    memcpy(ob->data, other.data(), other.size());
    Call mismatched;
    mismatched.Array(ob).Array(st).Array(arena);
    Check(Invoke(I::InvokeNative___STATIC__I4__SZARRAY_U1__SZARRAY_U1__SZARRAY_I4, mismatched) == CLR_E_INVALID_PARAMETER,
        "another blob than the state was made from: CLR_E_INVALID_PARAMETER");
    Check(strcmp(g_CLR_AssemblyNative_EdgeQuant_NanoFramework.m_szAssemblyName, "EdgeQuant.NanoFramework") == 0 &&
              g_CLR_AssemblyNative_EdgeQuant_NanoFramework.m_Version.iMinorVersion == 1,
        "assembly record names EdgeQuant.NanoFramework, native version 0.1.0.0");
    FreeArray(ob);
    FreeArray(src);
    FreeArray(arena);
    FreeArray(tinyArena);
    FreeArray(shortState);
    FreeArray(st);
    FreeArray(b);
}

int main(int argc, char **argv)
{
    if (argc < 3)
    {
        fprintf(stderr, "usage: harness GOLDEN_DIR NAME...\n");
        return 2;
    }
    std::string dir = argv[1];
    for (int i = 2; i < argc; i++)
        ZooModel(dir, argv[i]);
    FailurePaths(dir);
    printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed == 0 ? 0 : 1;
}
