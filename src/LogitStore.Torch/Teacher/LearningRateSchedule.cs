namespace LogitStore.Torch.Teacher;

/// <summary>The learning rate after warmup: cosine decay, or warmup-stable-decay.</summary>
public enum LearningRateShape
{
    Cosine,
    Wsd,
}

/// <summary>Linear warmup, then cosine decay to 10% of the peak, or WSD (warmup, stable, decay over the last 20%).</summary>
public sealed record LearningRateSchedule(double Peak, int WarmupSteps, int TotalSteps, LearningRateShape Shape = LearningRateShape.Cosine)
{
    public double At(int step)
    {
        if (step < WarmupSteps) return Peak * (step + 1) / WarmupSteps;
        double min = Peak * 0.1;
        int after = Math.Max(1, TotalSteps - WarmupSteps);
        double progress = Math.Clamp((double)(step - WarmupSteps) / after, 0, 1);
        return Shape switch
        {
            LearningRateShape.Cosine => min + (Peak - min) * 0.5 * (1 + Math.Cos(Math.PI * progress)),
            _ => progress < 0.8 ? Peak : Peak - (Peak - min) * (progress - 0.8) / 0.2,
        };
    }
}
