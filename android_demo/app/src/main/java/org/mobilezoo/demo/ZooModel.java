package org.mobilezoo.demo;

import android.content.Context;

import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * Loads the exported model from the app's assets: the ExecuTorch program (.pte) first, the
 * PyTorch Mobile lite-interpreter file (.ptl) as a fallback, and runs one forward pass.
 */
public final class ZooModel {
    public static final String PTE_ASSET = "model.pte";
    public static final String PTL_ASSET = "model.ptl";

    private final org.pytorch.executorch.Module executorch;
    private final org.pytorch.Module lite;
    private final String runtime;

    private ZooModel(org.pytorch.executorch.Module executorch, org.pytorch.Module lite, String runtime) {
        this.executorch = executorch;
        this.lite = lite;
        this.runtime = runtime;
    }

    /** Copies the asset to internal storage (runtimes load from a path) and opens it. */
    public static ZooModel load(Context context) throws IOException {
        try {
            String path = assetPath(context, PTE_ASSET);
            return new ZooModel(org.pytorch.executorch.Module.load(path), null, "ExecuTorch (.pte, XNNPACK)");
        } catch (IOException | RuntimeException primaryFailed) {
            String path = assetPath(context, PTL_ASSET);
            return new ZooModel(null, org.pytorch.LiteModuleLoader.load(path), "lite interpreter (.ptl)");
        }
    }

    public String runtime() {
        return runtime;
    }

    /** Runs the model on a normalised NCHW float input and returns the logits. */
    public float[] forward(float[] input, long[] shape) {
        if (executorch != null) {
            org.pytorch.executorch.Tensor tensor = org.pytorch.executorch.Tensor.fromBlob(input, shape);
            org.pytorch.executorch.EValue[] outputs = executorch.forward(org.pytorch.executorch.EValue.from(tensor));
            return outputs[0].toTensor().getDataAsFloatArray();
        }
        org.pytorch.Tensor tensor = org.pytorch.Tensor.fromBlob(input, shape);
        return lite.forward(org.pytorch.IValue.from(tensor)).toTensor().getDataAsFloatArray();
    }

    static String assetPath(Context context, String name) throws IOException {
        File file = new File(context.getFilesDir(), name);
        if (file.exists() && file.length() > 0) {
            return file.getAbsolutePath();
        }
        File partial = new File(context.getFilesDir(), name + ".part");
        try (InputStream in = context.getAssets().open(name); OutputStream out = new FileOutputStream(partial)) {
            byte[] buffer = new byte[1 << 16];
            int read;
            while ((read = in.read(buffer)) != -1) {
                out.write(buffer, 0, read);
            }
        }
        if (!partial.renameTo(file)) { // never leave a half-copied model under the real name
            throw new IOException("cannot move " + partial + " to " + file);
        }
        return file.getAbsolutePath();
    }
}
