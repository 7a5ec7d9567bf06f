namespace EmDsl.Persistence;

/// <summary>
/// A model file could not be read: it is truncated or not JSON, is not an EmDsl model file, was written by a newer
/// version, misses a field or has one of the wrong type or length, holds parameters that are not valid (a covariance
/// that is not positive definite, probabilities that do not sum to one, a negative rate…), or names a declared family
/// that was not supplied or does not match. The message names the file (when there is one) and the JSON path of the
/// offending field. Nothing is loaded when this is thrown.
/// </summary>
public sealed class ModelFileException : FormatException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="file">The file read, or null for a string.</param>
    /// <param name="jsonPath">The JSON path of the offending field ("$" for the document).</param>
    /// <param name="reason">What is wrong.</param>
    /// <param name="inner">The underlying error, if any.</param>
    public ModelFileException(string? file, string jsonPath, string reason, Exception? inner = null)
        : base($"{(file is null ? "Model JSON" : $"Model file '{file}'")}, at {jsonPath}: {reason}", inner)
    {
        File = file;
        JsonPath = jsonPath;
        Reason = reason;
    }

    /// <summary>The file read, or null when the model came from a string.</summary>
    public string? File { get; }

    /// <summary>The JSON path of the offending field, e.g. <c>$.fit.blocks[0].parameters[1].covariance</c>.</summary>
    public string JsonPath { get; }

    /// <summary>What is wrong, without the file and path.</summary>
    public string Reason { get; }
}
