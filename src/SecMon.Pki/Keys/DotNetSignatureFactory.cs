using System.Security.Cryptography;
using Org.BouncyCastle.Crypto;

namespace SecMon.Pki.Keys;

/// <summary>
/// A BouncyCastle <see cref="ISignatureFactory"/> whose signature is made by a .NET key: BouncyCastle
/// streams the DER it wants signed (a TBSCertificate, TBSCertList, ResponseData or CertificationRequestInfo)
/// into an incremental hash, and the digest is signed by <see cref="SigningKey.SignHash"/>.
/// </summary>
internal sealed class DotNetSignatureFactory(SigningKey key) : ISignatureFactory
{
    public object AlgorithmDetails => key.SignatureAlgorithm;

    public IStreamCalculator<IBlockResult> CreateCalculator() => new Calculator(key);

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "BouncyCastle's calculator contract has no Dispose; the hash is disposed in GetResult, which every user calls once.")]
    private sealed class Calculator(SigningKey key) : IStreamCalculator<IBlockResult>
    {
        private readonly HashStream _stream = new(IncrementalHash.CreateHash(key.Hash));

        public Stream Stream => _stream;

        public IBlockResult GetResult()
        {
            var digest = _stream.Hash.GetHashAndReset();
            _stream.Hash.Dispose();
            return new Org.BouncyCastle.Crypto.SimpleBlockResult(key.SignHash(digest));
        }
    }

    /// <summary>A write-only stream into an <see cref="IncrementalHash"/>.</summary>
    private sealed class HashStream(IncrementalHash hash) : Stream
    {
        public IncrementalHash Hash { get; } = hash;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Hash.AppendData(buffer, offset, count);

        public override void Write(ReadOnlySpan<byte> buffer) => Hash.AppendData(buffer);

        public override void WriteByte(byte value) => Hash.AppendData([value]);
    }
}
