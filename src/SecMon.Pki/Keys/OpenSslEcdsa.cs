using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace SecMon.Pki.Keys;

/// <summary>
/// ECDSA verification of a key seen once (a CSR's proof of possession) by OpenSSL's libcrypto, the library
/// .NET's own cryptography uses on Linux, called directly. Measured (bench/README.md "PKI"): decoding a fresh
/// P-256 point and verifying costs BouncyCastle ~300 µs and .NET's <see cref="ECDsa"/> ~280 µs (its import runs
/// EC_KEY_check_key, a full scalar multiplication n·Q that a cofactor-1 curve does not need, and OpenSSL 3.0's
/// provider and decoder machinery); this path costs ~110 µs.
/// <para>
/// What is checked is what the other paths check: EC_POINT_oct2point refuses a point that is not on the curve
/// (EC_POINT_set_affine_coordinates, OpenSSL 3), the point at infinity is refused here, and ECDSA_verify
/// refuses r or s outside [1, n-1] and a signature that is not DER (it re-encodes and compares). P-256 and
/// P-384 have cofactor 1, so a point on the curve other than infinity is in the prime-order group.
/// </para>
/// <para>
/// Only libcrypto.so.3 on Linux is used, and only after a self-test at first use (a good signature accepted; a
/// tampered one and a point off the curve refused). Anywhere else, or when the self-test fails,
/// <see cref="Verify"/> answers null and the caller verifies with BouncyCastle.
/// </para>
/// </summary>
internal static unsafe class OpenSslEcdsa
{
    // NID_X9_62_prime256v1 and NID_secp384r1 (OpenSSL obj_mac.h; stable since 0.9.8).
    private const int NidP256 = 415;
    private const int NidP384 = 715;

    private static readonly Lazy<Native?> Library = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>True when libcrypto was found and passed the self-test.</summary>
    public static bool IsAvailable => Library.Value is not null;

    /// <summary>
    /// Verifies a DER ECDSA signature (RFC 3279 §2.2.3) over <paramref name="digest"/> with the public point
    /// <paramref name="point"/> (SEC 1 §2.3.3: uncompressed or compressed) on P-256 (<paramref name="curveBits"/>
    /// 256) or P-384 (384). Null when this path cannot decide (no libcrypto, another curve or point form, an
    /// allocation failure): verify another way then.
    /// </summary>
    public static bool? Verify(int curveBits, ReadOnlySpan<byte> point, ReadOnlySpan<byte> digest, ReadOnlySpan<byte> signature)
    {
        var native = Library.Value;
        var nid = curveBits switch
        {
            256 => NidP256,
            384 => NidP384,
            _ => 0,
        };
        var fieldBytes = curveBits / 8;
        if (native is null || nid == 0 || digest.IsEmpty || signature.IsEmpty)
        {
            return null;
        }

        // Only the two standard forms; the hybrid forms (0x06, 0x07) and anything else go to BouncyCastle.
        var formOk = (point.Length == 1 + (2 * fieldBytes) && point[0] == 0x04)
            || (point.Length == 1 + fieldBytes && point[0] is 0x02 or 0x03);
        return formOk ? native.Verify(nid, point, digest, signature) : null;
    }

    /// <summary>The self-test result: tests call it to assert the native path really is in use where expected.</summary>
    internal static bool SelfTest(Native native)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var p = key.ExportParameters(false);
        byte[] point = [0x04, .. p.Q.X!, .. p.Q.Y!];
        var digest = SHA256.HashData("SecMon OpenSSL self-test"u8);
        var signature = key.SignHash(digest, DSASignatureFormat.Rfc3279DerSequence);
        var good = native.Verify(NidP256, point, digest, signature);
        digest[0] ^= 1;
        var tampered = native.Verify(NidP256, point, digest, signature);
        digest[0] ^= 1;
        var offCurve = (byte[])point.Clone();
        offCurve[^1] ^= 1;
        var off = native.Verify(NidP256, offCurve, digest, signature);
        return good == true && tampered == false && off == false;
    }

    private static Native? Load()
    {
        if (!OperatingSystem.IsLinux() || !NativeLibrary.TryLoad("libcrypto.so.3", out var handle))
        {
            return null;
        }

        try
        {
            var native = new Native(handle);
            return SelfTest(native) ? native : null;
        }
        catch (EntryPointNotFoundException)
        {
            return null;
        }
    }

    /// <summary>The libcrypto functions used, resolved once.</summary>
    internal sealed class Native
    {
        private readonly delegate* unmanaged<int, nint> _ecKeyNewByCurveName;
        private readonly delegate* unmanaged<nint, void> _ecKeyFree;
        private readonly delegate* unmanaged<nint, nint> _ecKeyGet0Group;
        private readonly delegate* unmanaged<nint, nint, int> _ecKeySetPublicKey;
        private readonly delegate* unmanaged<nint, nint> _ecPointNew;
        private readonly delegate* unmanaged<nint, void> _ecPointFree;
        private readonly delegate* unmanaged<nint, nint, byte*, nuint, nint, int> _ecPointOct2Point;
        private readonly delegate* unmanaged<nint, nint, int> _ecPointIsAtInfinity;
        private readonly delegate* unmanaged<int, byte*, int, byte*, int, nint, int> _ecdsaVerify;
        private readonly delegate* unmanaged<void> _errClearError;

        public Native(nint library)
        {
            _ecKeyNewByCurveName = (delegate* unmanaged<int, nint>)NativeLibrary.GetExport(library, "EC_KEY_new_by_curve_name");
            _ecKeyFree = (delegate* unmanaged<nint, void>)NativeLibrary.GetExport(library, "EC_KEY_free");
            _ecKeyGet0Group = (delegate* unmanaged<nint, nint>)NativeLibrary.GetExport(library, "EC_KEY_get0_group");
            _ecKeySetPublicKey = (delegate* unmanaged<nint, nint, int>)NativeLibrary.GetExport(library, "EC_KEY_set_public_key");
            _ecPointNew = (delegate* unmanaged<nint, nint>)NativeLibrary.GetExport(library, "EC_POINT_new");
            _ecPointFree = (delegate* unmanaged<nint, void>)NativeLibrary.GetExport(library, "EC_POINT_free");
            _ecPointOct2Point = (delegate* unmanaged<nint, nint, byte*, nuint, nint, int>)NativeLibrary.GetExport(library, "EC_POINT_oct2point");
            _ecPointIsAtInfinity = (delegate* unmanaged<nint, nint, int>)NativeLibrary.GetExport(library, "EC_POINT_is_at_infinity");
            _ecdsaVerify = (delegate* unmanaged<int, byte*, int, byte*, int, nint, int>)NativeLibrary.GetExport(library, "ECDSA_verify");
            _errClearError = (delegate* unmanaged<void>)NativeLibrary.GetExport(library, "ERR_clear_error");
        }

        /// <summary>True valid, false refused, null when OpenSSL could not allocate.</summary>
        public bool? Verify(int nid, ReadOnlySpan<byte> point, ReadOnlySpan<byte> digest, ReadOnlySpan<byte> signature)
        {
            var key = _ecKeyNewByCurveName(nid);
            if (key == 0)
            {
                _errClearError();
                return null;
            }

            nint p = 0;
            try
            {
                var group = _ecKeyGet0Group(key);
                p = _ecPointNew(group);
                if (p == 0)
                {
                    return null;
                }

                fixed (byte* pointPtr = point)
                fixed (byte* digestPtr = digest)
                fixed (byte* signaturePtr = signature)
                {
                    // oct2point fails for a point off the curve; infinity is refused explicitly.
                    return _ecPointOct2Point(group, p, pointPtr, (nuint)point.Length, 0) == 1
                        && _ecPointIsAtInfinity(group, p) == 0
                        && _ecKeySetPublicKey(key, p) == 1
                        && _ecdsaVerify(0, digestPtr, digest.Length, signaturePtr, signature.Length, key) == 1;
                }
            }
            finally
            {
                if (p != 0)
                {
                    _ecPointFree(p);
                }

                _ecKeyFree(key);

                // A refused signature or point leaves errors on this thread's OpenSSL error queue, which .NET's
                // own OpenSSL shim would otherwise find later on the same thread.
                _errClearError();
            }
        }
    }
}
