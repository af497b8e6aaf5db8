package org.pytorch.executorch;
public class Tensor {
    public static Tensor fromBlob(float[] data, long[] shape) { return null; }
    public float[] getDataAsFloatArray() { return null; }
}
