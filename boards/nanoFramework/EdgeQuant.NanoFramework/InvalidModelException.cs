using System;

namespace EdgeQuant.NanoFramework
{
    /// <summary>The blob is not a valid EdgeQuant model; the message names the section, record and byte offset, or the native status.</summary>
    public class InvalidModelException : Exception
    {
        public InvalidModelException(string message) : base(message) { }
    }
}
