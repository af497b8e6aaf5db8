package org.pytorch;
public class Tensor {
    public static Tensor fromBlob(float[] data, long[] shape) { return null; }
    public float[] getDataAsFloatArray() { return null; }
}
