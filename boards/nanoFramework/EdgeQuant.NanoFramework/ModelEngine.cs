namespace EdgeQuant.NanoFramework
{
    /// <summary>Which code runs a model.</summary>
    public enum ModelEngine
    {
        /// <summary>
        /// The C runtime compiled into the device firmware (firmware/nanoframework), called through
        /// InternalCall methods: the fast path. Needs a firmware built with the EdgeQuant interop module.
        /// </summary>
        Native = 0,
        /// <summary>
        /// The scalar reference kernels in C#, interpreted by nanoCLR: the same bytes, two to three orders
        /// of magnitude slower. For firmware without the module (use the EdgeQuant.NanoFramework.Managed build,
        /// which has no InternalCall methods at all).
        /// </summary>
        Managed = 1,
    }
}
