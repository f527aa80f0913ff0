using LogitStore.Format;
using LogitStore.Writing;

namespace LogitStore.Ingest;

/// <summary>
/// What a pack does with the sequences a producer hands it, whatever carries them (a teacher stream, or calls into a
/// <see cref="TeacherWriter"/>). The producer of a resumed store sends the committed sequences again first: their tokens
/// must give the committed corpus term (stream-protocol.md 5) and are dropped. The others go to the writer a block at a
/// time, processed on worker threads. At the end a part must hold whole blocks, and records its length (6).
/// </summary>
/// <typeparam name="TRecord">One sequence as the producer's carrier holds it (a frame, a copied record).</typeparam>
internal sealed class ProducerSequences<TRecord>
{
    private readonly StoreWriter _writer;
    private readonly string _producer;
    private readonly Func<TRecord, ulong, SparseSequence> _process;
    private readonly List<TRecord> _batch;
    private readonly ulong _committedCorpus;
    private ulong _resentCorpus;

    /// <param name="producer">Names the producer in errors: "the stream".</param>
    /// <param name="process">Processes a record into the sequence of the given global id; runs on worker threads.</param>
    public ProducerSequences(StoreWriter writer, string producer, Func<TRecord, ulong, SparseSequence> process)
    {
        _writer = writer;
        _producer = producer;
        _process = process;
        _batch = new List<TRecord>(writer.SequencesPerBlock);
        Committed = writer.NextSequence - writer.Manifest.FirstSequence;
        _committedCorpus = writer.CommittedCorpus;
    }

    /// <summary>Sequences the store held when the pack started: the producer's first ones, checked and dropped.</summary>
    public ulong Committed { get; }

    /// <summary>Sequences taken from the producer so far, resent ones included.</summary>
    public ulong Received { get; private set; }

    /// <summary>Whether the next sequence is a committed one sent again (only its tokens are read).</summary>
    public bool NextIsResent => Received < Committed;

    /// <summary>
    /// Takes the producer's next sequence: a resent one has its tokens (<paramref name="tokens"/>) added to the corpus term
    /// checked against the store's once the last resent one arrives; any other joins the next block, which goes to the
    /// writer when it is full. <paramref name="fault"/> makes the error of a resent corpus that is not the store's.
    /// </summary>
    public ValueTask AddAsync(TRecord record, Func<TRecord, int[]> tokens, Func<string, Exception> fault, CancellationToken ct)
    {
        Received++;
        if (Received <= Committed)
        {
            _resentCorpus += StoreFingerprint.SequenceTerm(_writer.Manifest.FirstSequence + Received - 1, tokens(record));
            if (Received == Committed && _resentCorpus != _committedCorpus)
                throw fault(
                    $"the first {Committed} sequences of {_producer} are not the ones the store committed (their tokens' corpus " +
                    $"fingerprint is {_resentCorpus:x16}, the store's {_committedCorpus:x16}): another producer's or another " +
                    "corpus's sequences");
            return ValueTask.CompletedTask;
        }
        _batch.Add(record);
        return _batch.Count == _writer.SequencesPerBlock ? SubmitAsync(ct) : ValueTask.CompletedTask;
    }

    /// <summary>
    /// Checks the end of the producer's sequences: it resent every committed one, and a part holds whole blocks unless it
    /// is the last (stream-protocol.md 6), whose length the manifest then records. <paramref name="fault"/> makes the error.
    /// </summary>
    public void CheckEnd(Func<string, Exception> fault)
    {
        if (Received < Committed)
            throw fault($"{_producer} ends after {Received} sequences; the store already holds {Committed} of it (a shorter one?)");
        if (_writer.Manifest.FirstSequence + Received >= 1UL << 63)
            throw fault($"first_sequence + {Received} sequences reach 2^63");
        if (_writer.Manifest.Partition is not { } p) return;
        if (p.Index < p.Count - 1 && Received % (ulong)_writer.SequencesPerBlock != 0)
            throw fault(
                $"part {p.Index}/{p.Count} holds {Received} sequences, not a multiple of sequences_per_block " +
                $"{_writer.SequencesPerBlock}: only the last part may end with a short block");
        p.SequenceCount = Received;
    }

    /// <summary>Writes the last block and completes the store (after <see cref="CheckEnd"/>).</summary>
    public async Task CompleteAsync(CancellationToken ct)
    {
        if (_batch.Count > 0) await SubmitAsync(ct);
        await _writer.CompleteAsync(ct);
    }

    private ValueTask SubmitAsync(CancellationToken ct)
    {
        var records = _batch.ToArray();
        _batch.Clear();
        ulong first = _writer.NextSequence;
        var process = _process;
        return _writer.AppendBlockAsync(records.Length, () =>
        {
            var sequences = new SparseSequence[records.Length];
            for (int i = 0; i < records.Length; i++) sequences[i] = process(records[i], first + (ulong)i);
            return sequences;
        }, ct);
    }
}
