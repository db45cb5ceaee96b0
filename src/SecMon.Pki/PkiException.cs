namespace SecMon.Pki;

/// <summary>
/// The PKI boundary's one exception for bad input or state the caller can fix: a missing CA home, a wrong
/// passphrase, a damaged key file, a certificate that does not match its key. Expected refusals during
/// enrollment are results (<see cref="Est.EnrollmentResult"/>), not exceptions.
/// </summary>
public sealed class PkiException : Exception
{
    /// <summary>Creates the exception with a message that says what is wrong and what to do.</summary>
    public PkiException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the underlying cause.</summary>
    public PkiException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with no message (serializers and analyzers want it).</summary>
    public PkiException()
    {
    }
}
