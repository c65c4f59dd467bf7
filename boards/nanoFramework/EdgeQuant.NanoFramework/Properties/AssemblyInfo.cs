using System.Reflection;

[assembly: AssemblyTitle("EdgeQuant.NanoFramework")]
[assembly: AssemblyProduct("EdgeQuant")]
[assembly: AssemblyVersion("0.1.0.0")]
#if !EQ_MANAGED_ONLY
// The version of the native module (firmware/nanoframework) this assembly needs; nanoCLR refuses to
// bind the InternalCall methods when the firmware's module declares another one.
[assembly: AssemblyNativeVersion("0.1.0.0")]
#endif
