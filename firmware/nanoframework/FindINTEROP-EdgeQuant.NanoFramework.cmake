#
# nf-interpreter interop module for the EdgeQuant.NanoFramework assembly.
#
# nf-interpreter adds an interop assembly named in NF_INTEROP_ASSEMBLIES by calling
# find_package("INTEROP-<assembly name>"), which loads this file (put it, or a copy that includes it,
# in nf-interpreter's CMake/Modules; or add this folder to CMAKE_MODULE_PATH). It must define
# <assembly name>_INCLUDE_DIRS and <assembly name>_SOURCES; nf-interpreter then declares
# g_CLR_AssemblyNative_EdgeQuant_NanoFramework (edgequant_nanoframework.cpp) in its interop table.
#
#   cmake ... -DNF_INTEROP_ASSEMBLIES="EdgeQuant.NanoFramework" -DEQ_NF_NATIVE_CHECKSUM=0x........
#
# EQ_NF_NATIVE_CHECKSUM: the checksum MetadataProcessor prints in the stubs it generates for the
# EdgeQuant.NanoFramework build being deployed (Stubs/edgequant_nanoframework.cpp). nanoCLR binds the
# native methods only when it matches the assembly's.
#
# The C runtime (firmware/src) is compiled into the same library. Its Cortex-M DSP / MVE kernels
# (firmware/src/kernels/*_dsp.c, *_mve.c) are added when present and selected by the target's
# __ARM_FEATURE_DSP / __ARM_FEATURE_MVE; anything else runs the reference kernels.

set(EQ_NF_DIR ${CMAKE_CURRENT_LIST_DIR})
get_filename_component(EQ_FIRMWARE_DIR "${EQ_NF_DIR}/.." ABSOLUTE)

set(EQ_NF_NATIVE_CHECKSUM "" CACHE STRING "Native checksum of EdgeQuant.NanoFramework from MetadataProcessor's stubs (0x........)")

list(APPEND EdgeQuant.NanoFramework_INCLUDE_DIRS
    ${EQ_NF_DIR}
    ${EQ_FIRMWARE_DIR}/include
    ${EQ_FIRMWARE_DIR}/src
    ${EQ_FIRMWARE_DIR}/src/kernels)

set(EQ_NF_INTEROP_SOURCES
    ${EQ_NF_DIR}/edgequant_nanoframework.cpp
    ${EQ_NF_DIR}/edgequant_nanoframework_EdgeQuant_NanoFramework_Model.cpp
    ${EQ_NF_DIR}/edgequant_nanoframework_EdgeQuant_NanoFramework_Interpreter.cpp)

file(GLOB EQ_NF_KERNEL_SOURCES ${EQ_FIRMWARE_DIR}/src/kernels/*_s8.c ${EQ_FIRMWARE_DIR}/src/kernels/*_s16.c ${EQ_FIRMWARE_DIR}/src/kernels/*_f32.c)
file(GLOB EQ_NF_DSP_SOURCES ${EQ_FIRMWARE_DIR}/src/kernels/*_dsp.c)
file(GLOB EQ_NF_MVE_SOURCES ${EQ_FIRMWARE_DIR}/src/kernels/*_mve.c)
set(EQ_NF_RUNTIME_SOURCES
    ${EQ_FIRMWARE_DIR}/src/model.c
    ${EQ_FIRMWARE_DIR}/src/interpreter.c
    ${EQ_FIRMWARE_DIR}/src/quant_math.c
    ${EQ_FIRMWARE_DIR}/src/crc32.c
    ${EQ_FIRMWARE_DIR}/src/status.c
    ${EQ_NF_KERNEL_SOURCES}
    ${EQ_NF_DSP_SOURCES}
    ${EQ_NF_MVE_SOURCES})

set(EQ_NF_DEFINITIONS "")
if(EQ_NF_NATIVE_CHECKSUM)
    list(APPEND EQ_NF_DEFINITIONS EQ_NF_NATIVE_CHECKSUM=${EQ_NF_NATIVE_CHECKSUM})
else()
    message(WARNING "EdgeQuant.NanoFramework: EQ_NF_NATIVE_CHECKSUM is not set; nanoCLR will not bind the native methods until it matches MetadataProcessor's checksum")
endif()
# Op families a nanoFramework image can leave out (the image serves whatever model the device loads
# later, so all are in by default; a blob needing one that is out is refused at its op record).
option(EQ_NF_WITH_EXTENDED_OPS "EdgeQuant: ops 20-22 (extended int8 ops)" ON)
option(EQ_NF_WITH_COMPRESSED_WEIGHTS "EdgeQuant: ops 55-57 (int4/codebook weights)" ON)
option(EQ_NF_WITH_COMPRESSED_ARRAYS "EdgeQuant: ops 50-52 (int4/codebook weights with int32 arrays; also need COMPRESSED_WEIGHTS)" ON)
option(EQ_NF_WITH_SPARSE_WEIGHTS "EdgeQuant: ops 53-54 (sparse rows of pruned layers)" ON)
option(EQ_NF_WITH_MIXED_PRECISION "EdgeQuant: ops 60-72 (int16 and float layers)" ON)
option(EQ_NF_WITH_DYNAMIC_OPS "EdgeQuant: ops 40-46 (dynamic quantization)" ON)
option(EQ_NF_WITH_RECURRENT "EdgeQuant: ops 23-26 (LSTM, GRU; 25-26 also need the compressed weights' int4 type)" ON)
foreach(family EXTENDED_OPS COMPRESSED_WEIGHTS COMPRESSED_ARRAYS SPARSE_WEIGHTS MIXED_PRECISION DYNAMIC_OPS RECURRENT)
    if(NOT EQ_NF_WITH_${family})
        list(APPEND EQ_NF_DEFINITIONS EQ_WITH_${family}=0)
    endif()
endforeach()
if(EQ_NF_DSP_SOURCES)
    list(APPEND EQ_NF_DEFINITIONS EQ_WITH_DSP_KERNELS=1)
endif()
if(EQ_NF_MVE_SOURCES)
    list(APPEND EQ_NF_DEFINITIONS EQ_WITH_MVE_KERNELS=1)
endif()
if(EQ_NF_DEFINITIONS)
    set_source_files_properties(${EQ_NF_INTEROP_SOURCES} ${EQ_NF_RUNTIME_SOURCES} PROPERTIES COMPILE_DEFINITIONS "${EQ_NF_DEFINITIONS}")
endif()

list(APPEND EdgeQuant.NanoFramework_SOURCES ${EQ_NF_INTEROP_SOURCES} ${EQ_NF_RUNTIME_SOURCES})

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(INTEROP-EdgeQuant.NanoFramework DEFAULT_MSG EdgeQuant.NanoFramework_INCLUDE_DIRS EdgeQuant.NanoFramework_SOURCES)
