package org.pytorch.executorch;
/** Stub of the ExecuTorch Android Module API (org.pytorch:executorch-android). */
public class Module {
    public static Module load(String modelPath) { return null; }
    public EValue[] forward(EValue... inputs) { return null; }
}
