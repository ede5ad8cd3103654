import { defineConfig } from "vite";

// `npm run dev` proxies the API to a `walrus serve` on 127.0.0.1:8080 (make up);
// `npm run build` writes frontend/dist, which `walrus serve` itself serves at /.
export default defineConfig({
  base: "/",
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true },
  server: { proxy: { "/v1": "http://127.0.0.1:8080" } },
});
