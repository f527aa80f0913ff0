using TorchSharp;

namespace LogitStore.Torch;

/// <summary>Picks the device and reports what TorchSharp runs on.</summary>
public static class TorchRuntime
{
    /// <summary>"cuda" when asked for and available, else "cpu".</summary>
    public static torch.Device Device(string requested = "auto")
    {
        bool cuda = torch.cuda.is_available();
        return requested switch
        {
            "cpu" => torch.CPU,
            "cuda" when cuda => torch.CUDA,
            "cuda" => throw new InvalidOperationException("--device cuda was asked for, but CUDA is not available to TorchSharp here"),
            _ => cuda ? torch.CUDA : torch.CPU,
        };
    }
}
