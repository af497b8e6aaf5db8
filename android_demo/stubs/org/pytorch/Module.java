package org.pytorch;
/** Stub of the PyTorch Mobile lite-interpreter API (org.pytorch:pytorch_android_lite). */
public class Module {
    public IValue forward(IValue... inputs) { return null; }
}
