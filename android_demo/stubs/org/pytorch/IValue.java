package org.pytorch;
public class IValue {
    public static IValue from(Tensor tensor) { return null; }
    public Tensor toTensor() { return null; }
}
