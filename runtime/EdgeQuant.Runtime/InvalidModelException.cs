namespace EdgeQuant.Runtime;

/// <summary>
/// Thrown when a blob is not a valid EdgeQuant model: wrong magic or version, bad CRC,
/// an offset or length out of bounds, an inconsistent record. The message names the
/// section, the record and the byte offset where the problem was found.
/// </summary>
public sealed class InvalidModelException : Exception
{
    public InvalidModelException(string message) : base(message) { }
    public InvalidModelException(string message, Exception inner) : base(message, inner) { }
}
