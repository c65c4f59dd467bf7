//
// Method lookup table and assembly record of the EdgeQuant.NanoFramework interop module.
//
// nanoCLR finds a native method by its index in the assembly's method table: one entry per method of
// the assembly, in metadata order, NULL for the methods implemented in IL. The order below is that of
// the compiled EdgeQuant.NanoFramework.dll (checked by tests/EdgeQuant.NanoFramework.Tests,
// NativeMethodTableTests); compare it with MetadataProcessor's generated stub when building a firmware.
//
#include "edgequant_nanoframework.h"

// clang-format off

static const CLR_RT_MethodHandler method_lookup[] =
{
    NULL, // 0 EdgeQuant.NanoFramework.Interpreter::.ctor
    NULL, // 1 EdgeQuant.NanoFramework.Interpreter::get_Model
    NULL, // 2 EdgeQuant.NanoFramework.Interpreter::SetInput
    NULL, // 3 EdgeQuant.NanoFramework.Interpreter::SetInput
    NULL, // 4 EdgeQuant.NanoFramework.Interpreter::GetOutput
    NULL, // 5 EdgeQuant.NanoFramework.Interpreter::GetOutput
    NULL, // 6 EdgeQuant.NanoFramework.Interpreter::SetInput
    NULL, // 7 EdgeQuant.NanoFramework.Interpreter::SetInput
    NULL, // 8 EdgeQuant.NanoFramework.Interpreter::GetOutput
    NULL, // 9 EdgeQuant.NanoFramework.Interpreter::GetOutput
    NULL, // 10 EdgeQuant.NanoFramework.Interpreter::Invoke
    NULL, // 11 EdgeQuant.NanoFramework.Interpreter::ManagedArenaFor
    NULL, // 12 EdgeQuant.NanoFramework.Interpreter::CheckIndex
    NULL, // 13 EdgeQuant.NanoFramework.Interpreter::CheckIo
    NULL, // 14 EdgeQuant.NanoFramework.Interpreter::NativeSetInput
    NULL, // 15 EdgeQuant.NanoFramework.Interpreter::NativeGetOutput
    NULL, // 16 EdgeQuant.NanoFramework.Interpreter::NativeInvoke
    Library_edgequant_nanoframework_EdgeQuant_NanoFramework_Interpreter::SetInputNative___STATIC__I4__SZARRAY_U1__SZARRAY_U1__SZARRAY_I4__I4__SZARRAY_I1__I4,
    Library_edgequant_nanoframework_EdgeQuant_NanoFramework_Interpreter::GetOutputNative___STATIC__I4__SZARRAY_U1__SZARRAY_U1__SZARRAY_I4__I4__SZARRAY_I1__I4,
    Library_edgequant_nanoframework_EdgeQuant_NanoFramework_Interpreter::InvokeNative___STATIC__I4__SZARRAY_U1__SZARRAY_U1__SZARRAY_I4,
    NULL, // 20 EdgeQuant.NanoFramework.InvalidModelException::.ctor
    NULL, // 21 EdgeQuant.NanoFramework.Model::.ctor
    NULL, // 22 EdgeQuant.NanoFramework.Model::.ctor
    NULL, // 23 EdgeQuant.NanoFramework.Model::get_Engine
    NULL, // 24 EdgeQuant.NanoFramework.Model::get_ArenaBytes
    NULL, // 25 EdgeQuant.NanoFramework.Model::get_BlobBytes
    NULL, // 26 EdgeQuant.NanoFramework.Model::get_InputCount
    NULL, // 27 EdgeQuant.NanoFramework.Model::get_OutputCount
    NULL, // 28 EdgeQuant.NanoFramework.Model::GetInputBytes
    NULL, // 29 EdgeQuant.NanoFramework.Model::GetOutputBytes
    NULL, // 30 EdgeQuant.NanoFramework.Model::GetInputType
    NULL, // 31 EdgeQuant.NanoFramework.Model::GetOutputType
    NULL, // 32 EdgeQuant.NanoFramework.Model::GetInputScale
    NULL, // 33 EdgeQuant.NanoFramework.Model::GetInputZeroPoint
    NULL, // 34 EdgeQuant.NanoFramework.Model::GetOutputScale
    NULL, // 35 EdgeQuant.NanoFramework.Model::GetOutputZeroPoint
    NULL, // 36 EdgeQuant.NanoFramework.Model::get_Blob
    NULL, // 37 EdgeQuant.NanoFramework.Model::get_Reader
    NULL, // 38 EdgeQuant.NanoFramework.Model::InputArenaOffset
    NULL, // 39 EdgeQuant.NanoFramework.Model::OutputArenaOffset
    NULL, // 40 EdgeQuant.NanoFramework.Model::DescribeManaged
    NULL, // 41 EdgeQuant.NanoFramework.Model::DescribeManagedTensor
    NULL, // 42 EdgeQuant.NanoFramework.Model::AllocateIo
    NULL, // 43 EdgeQuant.NanoFramework.Model::get_NativeState
    NULL, // 44 EdgeQuant.NanoFramework.Model::LoadNative
    NULL, // 45 EdgeQuant.NanoFramework.Model::Check
    NULL, // 46 EdgeQuant.NanoFramework.Model::NativeErrorText
    Library_edgequant_nanoframework_EdgeQuant_NanoFramework_Model::NativeStateBytes___STATIC__I4,
    Library_edgequant_nanoframework_EdgeQuant_NanoFramework_Model::NativeLoad___STATIC__I4__SZARRAY_U1__SZARRAY_U1__I4,
    Library_edgequant_nanoframework_EdgeQuant_NanoFramework_Model::NativeDescribe___STATIC__I4__SZARRAY_U1__SZARRAY_U1__SZARRAY_I4,
    Library_edgequant_nanoframework_EdgeQuant_NanoFramework_Model::NativeTensor___STATIC__I4__SZARRAY_U1__SZARRAY_U1__I4__I4__SZARRAY_I4__SZARRAY_R4,
    Library_edgequant_nanoframework_EdgeQuant_NanoFramework_Model::NativeError___STATIC__I4__SZARRAY_U1__SZARRAY_I4,
    Library_edgequant_nanoframework_EdgeQuant_NanoFramework_Model::NativeStatusText___STATIC__STRING__I4,
};

// clang-format on

const CLR_RT_NativeAssemblyData g_CLR_AssemblyNative_EdgeQuant_NanoFramework =
{
    EQ_NF_ASSEMBLY_NAME,
    EQ_NF_NATIVE_CHECKSUM,
    method_lookup,
    EQ_NF_NATIVE_VERSION,
};
