namespace LogitStore.Torch.Model;

/// <summary>How rotary frequencies are stretched for contexts longer than the model was pre-trained on.</summary>
public enum RopeScalingKind
{
    /// <summary>Every frequency divided by the factor (positions interpolated).</summary>
    Linear,

    /// <summary>
    /// Llama 3.1's rule: wavelengths longer than original / low_freq_factor are divided by the factor, shorter than
    /// original / high_freq_factor kept, and those between blended smoothly.
    /// </summary>
    Llama3,
}

/// <summary><c>rope_scaling</c> of a checkpoint's config, for the kinds the forward implements.</summary>
public sealed record RopeScaling(
    RopeScalingKind Kind, double Factor, double LowFreqFactor = 1, double HighFreqFactor = 4, int OriginalMaxPositions = 8192)
{
    /// <summary>The frequencies of one head's rotation pairs: θ^(−2i/d) for i &lt; d/2, then rescaled.</summary>
    public static double[] InverseFrequencies(int headDim, double theta, RopeScaling? scaling)
    {
        int half = headDim / 2;
        var inv = new double[half];
        for (int i = 0; i < half; i++) inv[i] = Math.Pow(theta, -2.0 * i / headDim);
        scaling?.Rescale(inv);
        return inv;
    }

    private void Rescale(double[] inv)
    {
        if (Kind == RopeScalingKind.Linear)
        {
            for (int i = 0; i < inv.Length; i++) inv[i] /= Factor;
            return;
        }
        double lowFreqWavelength = OriginalMaxPositions / LowFreqFactor, highFreqWavelength = OriginalMaxPositions / HighFreqFactor;
        for (int i = 0; i < inv.Length; i++)
        {
            double wavelength = 2 * Math.PI / inv[i];
            if (wavelength < highFreqWavelength) continue;
            if (wavelength > lowFreqWavelength)
            {
                inv[i] /= Factor;
                continue;
            }
            double smooth = (OriginalMaxPositions / wavelength - LowFreqFactor) / (HighFreqFactor - LowFreqFactor);
            inv[i] = (1 - smooth) * inv[i] / Factor + smooth * inv[i];
        }
    }
}
