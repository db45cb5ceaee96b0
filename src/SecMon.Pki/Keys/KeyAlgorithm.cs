namespace SecMon.Pki.Keys;

/// <summary>The key types the CA creates for itself and accepts from devices.</summary>
public enum KeyAlgorithm
{
    /// <summary>ECDSA on NIST P-256 (secp256r1) with SHA-256: the default for issuing CAs and devices.</summary>
    EcdsaP256,

    /// <summary>ECDSA on NIST P-384 (secp384r1) with SHA-384: the default for the root CA.</summary>
    EcdsaP384,

    /// <summary>RSA 2048 with SHA-256 (PKCS#1 v1.5): accepted from devices, not created for CAs by default.</summary>
    Rsa2048,

    /// <summary>RSA 3072 with SHA-256 (PKCS#1 v1.5): the RSA option for CAs.</summary>
    Rsa3072,

    /// <summary>RSA 4096 with SHA-256 (PKCS#1 v1.5).</summary>
    Rsa4096,
}

/// <summary>Names and properties of <see cref="KeyAlgorithm"/> values as the CLI and ca.json spell them.</summary>
public static class KeyAlgorithms
{
    /// <summary>Every value with its name (<c>ecdsa-p256</c>, <c>rsa-3072</c>...).</summary>
    public static IReadOnlyList<(KeyAlgorithm Algorithm, string Name)> All { get; } =
    [
        (KeyAlgorithm.EcdsaP256, "ecdsa-p256"),
        (KeyAlgorithm.EcdsaP384, "ecdsa-p384"),
        (KeyAlgorithm.Rsa2048, "rsa-2048"),
        (KeyAlgorithm.Rsa3072, "rsa-3072"),
        (KeyAlgorithm.Rsa4096, "rsa-4096"),
    ];

    /// <summary>The name of <paramref name="algorithm"/> (<c>ecdsa-p256</c>).</summary>
    public static string Name(this KeyAlgorithm algorithm) =>
        All.First(a => a.Algorithm == algorithm).Name;

    /// <summary>Parses a name (case-insensitive; <c>p256</c>, <c>ec</c>, <c>rsa</c> accepted as short forms).</summary>
    public static bool TryParse(string? text, out KeyAlgorithm algorithm)
    {
        algorithm = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var t = text.Trim().ToLowerInvariant();
        switch (t)
        {
            case "p256" or "ec" or "ecdsa" or "ec-p256" or "ecdsa-p-256":
                algorithm = KeyAlgorithm.EcdsaP256;
                return true;
            case "p384" or "ec-p384" or "ecdsa-p-384":
                algorithm = KeyAlgorithm.EcdsaP384;
                return true;
            case "rsa" or "rsa3072":
                algorithm = KeyAlgorithm.Rsa3072;
                return true;
            case "rsa2048":
                algorithm = KeyAlgorithm.Rsa2048;
                return true;
            case "rsa4096":
                algorithm = KeyAlgorithm.Rsa4096;
                return true;
            default:
                foreach (var (a, name) in All)
                {
                    if (name == t)
                    {
                        algorithm = a;
                        return true;
                    }
                }

                return false;
        }
    }

    /// <summary>True for the ECDSA values.</summary>
    public static bool IsEcdsa(this KeyAlgorithm algorithm) =>
        algorithm is KeyAlgorithm.EcdsaP256 or KeyAlgorithm.EcdsaP384;

    /// <summary>The RSA modulus size in bits (0 for ECDSA).</summary>
    public static int RsaBits(this KeyAlgorithm algorithm) => algorithm switch
    {
        KeyAlgorithm.Rsa2048 => 2048,
        KeyAlgorithm.Rsa3072 => 3072,
        KeyAlgorithm.Rsa4096 => 4096,
        _ => 0,
    };
}
