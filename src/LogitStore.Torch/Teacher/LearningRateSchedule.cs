namespace LogitStore.Torch.Teacher;

/// <summary>Linear warmup, then cosine decay to 10% of the peak, or WSD (warmup, stable, decay over the last 20%).</summary>
public sealed record LearningRateSchedule(double Peak, int WarmupSteps, int TotalSteps, string Shape = "cosine")
{
    public double At(int step)
    {
        if (step < WarmupSteps) return Peak * (step + 1) / WarmupSteps;
        double min = Peak * 0.1;
        int after = Math.Max(1, TotalSteps - WarmupSteps);
        double progress = Math.Clamp((double)(step - WarmupSteps) / after, 0, 1);
        return Shape switch
        {
            "cosine" => min + (Peak - min) * 0.5 * (1 + Math.Cos(Math.PI * progress)),
            "wsd" => progress < 0.8 ? Peak : Peak - (Peak - min) * (progress - 0.8) / 0.2,
            _ => throw new ArgumentException($"unknown schedule '{Shape}' (cosine, wsd)"),
        };
    }
}
