package org.mobilezoo.demo;

import android.graphics.Bitmap;

/** Bitmap -> normalised NCHW floats, with the mean/std written to assets/model_config.properties. */
public final class Preprocess {
    private Preprocess() {}

    public static float[] toInput(Bitmap bitmap, int size, float[] mean, float[] std) {
        Bitmap scaled = Bitmap.createScaledBitmap(bitmap, size, size, true);
        int[] pixels = new int[size * size];
        scaled.getPixels(pixels, 0, size, 0, 0, size, size);
        float[] input = new float[3 * size * size];
        for (int i = 0; i < pixels.length; i++) {
            int color = pixels[i];
            float r = ((color >> 16) & 0xff) / 255.0f;
            float g = ((color >> 8) & 0xff) / 255.0f;
            float b = (color & 0xff) / 255.0f;
            input[i] = (r - mean[0]) / std[0];
            input[size * size + i] = (g - mean[1]) / std[1];
            input[2 * size * size + i] = (b - mean[2]) / std[2];
        }
        return input;
    }

    public static int argmax(float[] values) {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best;
    }
}
