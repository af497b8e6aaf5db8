package org.mobilezoo.demo;

import android.content.Context;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** Reads assets/model_config.properties, written by export_assets.py from the model's pretrained cfg. */
public final class ModelConfig {
    public final int size;
    public final float[] mean;
    public final float[] std;
    public final String[] labels;
    public final String image;

    private ModelConfig(Properties p) {
        size = Integer.parseInt(p.getProperty("size"));
        mean = floats(p.getProperty("mean"));
        std = floats(p.getProperty("std"));
        labels = p.getProperty("labels").split("\\|");
        image = p.getProperty("image");
    }

    public static ModelConfig load(Context context) throws IOException {
        Properties properties = new Properties();
        try (InputStream in = context.getAssets().open("model_config.properties")) {
            properties.load(in);
        }
        return new ModelConfig(properties);
    }

    private static float[] floats(String csv) {
        String[] parts = csv.split(",");
        float[] values = new float[parts.length];
        for (int i = 0; i < parts.length; i++) {
            values[i] = Float.parseFloat(parts[i].trim());
        }
        return values;
    }
}
