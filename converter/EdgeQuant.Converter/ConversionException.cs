namespace EdgeQuant.Converter;

/// <summary>
/// A user-facing conversion error: the input model, data file or option cannot be handled.
/// The message names the offending item (file, node, op, attribute, tensor) and, where it
/// applies, what is supported instead, so it can be shown to the user as is.
/// </summary>
public sealed class ConversionException : Exception
{
    /// <summary>Creates an error with a generic message.</summary>
    public ConversionException()
        : base("The model could not be converted.")
    {
    }

    /// <summary>Creates an error with a user-facing message.</summary>
    public ConversionException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an error with a user-facing message and the exception that caused it.</summary>
    public ConversionException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
