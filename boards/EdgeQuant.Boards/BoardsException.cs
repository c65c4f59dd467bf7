namespace EdgeQuant.Boards;

/// <summary>
/// A device, frame, recording or model that does not fit the pipeline: a missing device, a frame
/// of the wrong size or format, a model whose input does not fit the source. The message is one
/// line naming the problem and where; apps print it and exit.
/// </summary>
public sealed class BoardsException : Exception
{
    public BoardsException(string message) : base(message) { }
    public BoardsException(string message, Exception inner) : base(message, inner) { }
}
