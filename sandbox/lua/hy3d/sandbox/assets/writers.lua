--- The mesh formats of hy3d-sandbox's result files: glTF 2.0 binary (GLB), Wavefront OBJ and its MTL,
-- binary STL, ASCII FBX 7.4 and a USD text stage (what a USDZ zip holds), each from a flat mesh.
-- Needs hy3d.sandbox.assets.mesh (bounds, the default colour), .pack and lua-cjson.
local cjson = require("cjson").new()
local mesh = require "hy3d.sandbox.assets.mesh"
local packing = require "hy3d.sandbox.assets.pack"

local pack, unpack, concat, rep, format = string.pack, string.unpack, table.concat, string.rep, string.format
local sqrt = math.sqrt
local table_unpack = table.unpack
local SHAPES, bounds = mesh.shapes, mesh.bounds
local pad, pack_all = packing.pad, packing.pack_all

-- x rounded to the float32 a GLB stores.
local function f32(x)
  return (unpack("<f", pack("<f", x)))
end

--- A glTF 2.0 binary (GLB) of a mesh: POSITION, NORMAL, TEXCOORD_0 and indices (16-bit while they
-- fit, else 32-bit). opts (all optional): `color` {r, g, b} base colour (default wood), `texture`
-- PNG bytes embedded as the base colour texture, `material` name, `uvs = false` to leave out UVs.
local function glb(m, opts)
  opts = opts or {}
  local nverts = #m.p // 3
  local wide = nverts > 65535                     -- 65535 itself is reserved in 16-bit indices
  local with_uvs = opts.uvs ~= false
  local lo, hi = bounds(m.p)                      -- rounding to float32 keeps the order: min/max stay exact
  for k = 1, 3 do lo[k], hi[k] = f32(lo[k]), f32(hi[k]) end
  local views = { pack_all("f", m.p), pack_all("f", m.n) }
  local attributes = { POSITION = 0, NORMAL = 1 }
  local accessors = {
    { bufferView = 0, componentType = 5126, count = nverts, type = "VEC3", min = "@min@", max = "@max@" },
    { bufferView = 1, componentType = 5126, count = nverts, type = "VEC3" },
  }
  if with_uvs then
    views[#views + 1] = pack_all("f", m.t)
    attributes.TEXCOORD_0 = #accessors
    accessors[#accessors + 1] = { bufferView = #views - 1, componentType = 5126, count = nverts, type = "VEC2" }
  end
  local index_bytes = pack_all(wide and "I4" or "I2", m.idx)
  views[#views + 1] = pad(index_bytes, 4, "\0")
  local indices, index_view = #accessors, #views - 1
  accessors[#accessors + 1] = { bufferView = index_view, componentType = wide and 5125 or 5123,
                                count = #m.idx, type = "SCALAR" }
  local color = opts.color or SHAPES.chair.color
  local material = { name = opts.material or "wood", pbrMetallicRoughness = {
    baseColorFactor = { color[1], color[2], color[3], 1 }, metallicFactor = 0, roughnessFactor = 0.8 } }
  local gltf = {
    asset = { version = "2.0", generator = "hy3d-sandbox" },
    scene = 0,
    scenes = { { nodes = { 0 } } },
    nodes = { { mesh = 0, name = "model" } },
    meshes = { { name = "model", primitives = { {
      attributes = attributes, indices = indices, material = 0, mode = 4,
    } } } },
    materials = { material },
    accessors = accessors,
  }
  if opts.texture and with_uvs then
    views[#views + 1] = pad(opts.texture, 4, "\0")
    gltf.images = { { bufferView = #views - 1, mimeType = "image/png" } }
    gltf.samplers = { { magFilter = 9729, minFilter = 9987, wrapS = 10497, wrapT = 10497 } }
    gltf.textures = { { sampler = 0, source = 0 } }
    material.pbrMetallicRoughness.baseColorFactor = { 1, 1, 1, 1 }
    material.pbrMetallicRoughness.baseColorTexture = { index = 0 }
  end
  local offset, buffer_views = 0, {}
  for i, v in ipairs(views) do
    buffer_views[i] = { buffer = 0, byteOffset = offset, byteLength = #v }
    offset = offset + #v
  end
  for _, a in ipairs(accessors) do
    buffer_views[a.bufferView + 1].target = a.bufferView == index_view and 34963 or 34962
  end
  buffer_views[index_view + 1].byteLength = #index_bytes
  if gltf.images then buffer_views[#views].byteLength = #opts.texture end
  local bin = concat(views)
  gltf.buffers = { { byteLength = #bin } }
  gltf.bufferViews = buffer_views
  -- cjson keeps 14 digits; 17 make POSITION min/max the stored float32 values exactly
  local exact = {
    ['"@min@"'] = format("[%.17g,%.17g,%.17g]", lo[1], lo[2], lo[3]),
    ['"@max@"'] = format("[%.17g,%.17g,%.17g]", hi[1], hi[2], hi[3]),
  }
  local json = pad((cjson.encode(gltf):gsub('"@m%a%a@"', exact)), 4, " ")
  local total = 12 + 8 + #json + 8 + #bin
  return concat {
    pack("<c4I4I4", "glTF", 2, total),
    pack("<I4c4", #json, "JSON"), json,
    pack("<I4c4", #bin, "BIN\0"), bin,
  }
end

--- Wavefront OBJ text (positions, texture coordinates, normals) using `material` (default "wood")
-- from model.mtl.
local function obj(m, material)
  local p, n, t, i = m.p, m.n, m.t, m.idx
  local out = { "# hy3d-sandbox generated mesh\nmtllib model.mtl\no model\n" }
  for k = 1, #p, 3 do out[#out + 1] = format("v %.4f %.4f %.4f\n", p[k], p[k + 1], p[k + 2]) end
  for k = 1, #t, 2 do out[#out + 1] = format("vt %.5g %.5g\n", t[k], t[k + 1]) end
  for k = 1, #n, 3 do out[#out + 1] = format("vn %.4g %.4g %.4g\n", n[k], n[k + 1], n[k + 2]) end
  out[#out + 1] = "usemtl " .. (material or "wood") .. "\n"
  for k = 1, #i, 3 do
    local a, b, c = i[k] + 1, i[k + 1] + 1, i[k + 2] + 1
    out[#out + 1] = format("f %d/%d/%d %d/%d/%d %d/%d/%d\n", a, a, a, b, b, b, c, c, c)
  end
  return concat(out)
end

local function mtl(material, color, textured)
  if textured then
    return format("newmtl %s\nKa 1 1 1\nKd 1 1 1\nKs 0.1 0.1 0.1\nNs 10\nmap_Kd texture.png\n", material)
  end
  return format("newmtl %s\nKa 1 1 1\nKd %.3f %.3f %.3f\nKs 0.1 0.1 0.1\nNs 10\n", material, color[1], color[2], color[3])
end

--- Binary STL of a mesh (facet normals from the triangles themselves).
local function stl(m)
  local p, i = m.p, m.idx
  local out = { pad("hy3d-sandbox generated mesh", 80, " "), pack("<I4", #i // 3) }
  for k = 1, #i, 3 do
    local a, b, c = 3 * i[k] + 1, 3 * i[k + 1] + 1, 3 * i[k + 2] + 1
    local ax, ay, az = p[a], p[a + 1], p[a + 2]
    local bx, by, bz, cx, cy, cz = p[b], p[b + 1], p[b + 2], p[c], p[c + 1], p[c + 2]
    local ux, uy, uz, vx, vy, vz = bx - ax, by - ay, bz - az, cx - ax, cy - ay, cz - az
    local nx, ny, nz = uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx
    local len = sqrt(nx * nx + ny * ny + nz * nz)
    if len > 0 then nx, ny, nz = nx / len, ny / len, nz / len end
    out[#out + 1] = pack("<fff fff fff fff I2", nx, ny, nz, ax, ay, az, bx, by, bz, cx, cy, cz, 0)
  end
  return concat(out)
end

-- Comma-separated numbers, `per_line` to a line (FBX and USDA arrays can be long).
local function number_list(values, fmt, per_line, sep)
  local lines, line = {}, {}
  for k = 1, #values do
    line[#line + 1] = format(fmt, values[k])
    if #line == per_line then lines[#lines + 1] = concat(line, ","); line = {} end
  end
  if #line > 0 then lines[#lines + 1] = concat(line, ",") end
  return concat(lines, sep)
end

local FBX_HEADER = [[
; FBX 7.4.0 project file
; Created by hy3d-sandbox (an offline emulator of Tencent Hunyuan 3D)
; ----------------------------------------------------

FBXHeaderExtension:  {
	FBXHeaderVersion: 1003
	FBXVersion: 7400
	CreationTimeStamp:  {
		Version: 1000
		Year: 2025
		Month: 1
		Day: 1
		Hour: 0
		Minute: 0
		Second: 0
		Millisecond: 0
	}
	Creator: "hy3d-sandbox"
}
GlobalSettings:  {
	Version: 1000
	Properties70:  {
		P: "UpAxis", "int", "Integer", "",1
		P: "UpAxisSign", "int", "Integer", "",1
		P: "FrontAxis", "int", "Integer", "",2
		P: "FrontAxisSign", "int", "Integer", "",1
		P: "CoordAxis", "int", "Integer", "",0
		P: "CoordAxisSign", "int", "Integer", "",1
		P: "OriginalUpAxis", "int", "Integer", "",1
		P: "OriginalUpAxisSign", "int", "Integer", "",1
		P: "UnitScaleFactor", "double", "Number", "",100
		P: "OriginalUnitScaleFactor", "double", "Number", "",100
	}
}

; Documents Description
;------------------------------------------------------------------

Documents:  {
	Count: 1
	Document: 1000000000, "", "Scene" {
		Properties70:  {
			P: "SourceObject", "object", "", ""
			P: "ActiveAnimStackName", "KString", "", "", ""
		}
		RootNode: 0
	}
}

; Document References
;------------------------------------------------------------------

References:  {
}

; Object definitions
;------------------------------------------------------------------

Definitions:  {
	Version: 100
	Count: 4
	ObjectType: "GlobalSettings" {
		Count: 1
	}
	ObjectType: "Model" {
		Count: 1
	}
	ObjectType: "Geometry" {
		Count: 1
	}
	ObjectType: "Material" {
		Count: 1
	}
}

; Object properties
;------------------------------------------------------------------

]]

--- An ASCII FBX 7.4 document: one mesh model (Vertices, PolygonVertexIndex, per-vertex normals
-- and UVs) with a Phong material of `color` (1 unit = 1 metre, Y up).
local function fbx(m, color, material)
  color = color or SHAPES.chair.color
  local corners = {}
  for k = 1, #m.idx do corners[k] = m.idx[k] end
  for k = 3, #corners, 3 do corners[k] = ~corners[k] end     -- a polygon's last corner is -(index + 1)
  local geometry, model, mat = 1000000001, 1000000002, 1000000003
  return concat {
    FBX_HEADER,
    "Objects:  {\n",
    format('\tGeometry: %d, "Geometry::model", "Mesh" {\n', geometry),
    format("\t\tVertices: *%d {\n\t\t\ta: ", #m.p), number_list(m.p, "%.6g", 24, ",\n"), "\n\t\t}\n",
    format("\t\tPolygonVertexIndex: *%d {\n\t\t\ta: ", #corners), number_list(corners, "%d", 32, ",\n"),
    "\n\t\t}\n",
    "\t\tGeometryVersion: 124\n",
    '\t\tLayerElementNormal: 0 {\n\t\t\tVersion: 101\n\t\t\tName: ""\n',
    '\t\t\tMappingInformationType: "ByVertice"\n\t\t\tReferenceInformationType: "Direct"\n',
    format("\t\t\tNormals: *%d {\n\t\t\t\ta: ", #m.n), number_list(m.n, "%.6g", 24, ",\n"), "\n\t\t\t}\n",
    "\t\t}\n",
    '\t\tLayerElementUV: 0 {\n\t\t\tVersion: 101\n\t\t\tName: "UVMap"\n',
    '\t\t\tMappingInformationType: "ByVertice"\n\t\t\tReferenceInformationType: "Direct"\n',
    format("\t\t\tUV: *%d {\n\t\t\t\ta: ", #m.t), number_list(m.t, "%.6g", 24, ",\n"), "\n\t\t\t}\n",
    "\t\t}\n",
    '\t\tLayerElementMaterial: 0 {\n\t\t\tVersion: 101\n\t\t\tName: ""\n',
    '\t\t\tMappingInformationType: "AllSame"\n\t\t\tReferenceInformationType: "IndexToDirect"\n',
    "\t\t\tMaterials: *1 {\n\t\t\t\ta: 0\n\t\t\t}\n\t\t}\n",
    "\t\tLayer: 0 {\n\t\t\tVersion: 100\n",
    '\t\t\tLayerElement:  {\n\t\t\t\tType: "LayerElementNormal"\n\t\t\t\tTypedIndex: 0\n\t\t\t}\n',
    '\t\t\tLayerElement:  {\n\t\t\t\tType: "LayerElementMaterial"\n\t\t\t\tTypedIndex: 0\n\t\t\t}\n',
    '\t\t\tLayerElement:  {\n\t\t\t\tType: "LayerElementUV"\n\t\t\t\tTypedIndex: 0\n\t\t\t}\n',
    "\t\t}\n\t}\n",
    format('\tModel: %d, "Model::model", "Mesh" {\n\t\tVersion: 232\n', model),
    '\t\tProperties70:  {\n\t\t\tP: "DefaultAttributeIndex", "int", "Integer", "",0\n\t\t}\n',
    '\t\tShading: T\n\t\tCulling: "CullingOff"\n\t}\n',
    format('\tMaterial: %d, "Material::%s", "" {\n', mat, material or "wood"),
    '\t\tVersion: 102\n\t\tShadingModel: "phong"\n\t\tMultiLayer: 0\n\t\tProperties70:  {\n',
    format('\t\t\tP: "DiffuseColor", "Color", "", "A",%.4f,%.4f,%.4f\n', color[1], color[2], color[3]),
    '\t\t\tP: "DiffuseFactor", "Number", "", "A",1\n',
    '\t\t\tP: "SpecularColor", "Color", "", "A",0.1,0.1,0.1\n',
    '\t\t\tP: "Shininess", "Number", "", "A",10\n',
    '\t\t\tP: "Opacity", "double", "Number", "",1\n',
    "\t\t}\n\t}\n}\n\n",
    "; Object connections\n;------------------------------------------------------------------\n\n",
    "Connections:  {\n",
    format('\t;Model::model, Model::RootNode\n\tC: "OO",%d,0\n\n', model),
    format('\t;Geometry::model, Model::model\n\tC: "OO",%d,%d\n\n', geometry, model),
    format('\t;Material::%s, Model::model\n\tC: "OO",%d,%d\n}\n', material or "wood", mat, model),
  }
end

-- USD text arrays: tuples "(x, y, z)" of `width` numbers each.
local function usd_tuples(values, width)
  local out = {}
  local fmt = width == 3 and "(%.6g, %.6g, %.6g)" or "(%.6g, %.6g)"
  for k = 1, #values, width do out[#out + 1] = format(fmt, table_unpack(values, k, k + width - 1)) end
  return concat(out, ", ")
end

--- A USD text stage ("#usda 1.0"): one Mesh with points, normals, st and a UsdPreviewSurface of
-- `color` (metres, Y up).
local function usda(m, color, material, with_uvs)
  color = color or SHAPES.chair.color
  material = material or "wood"
  local lo, hi = bounds(m.p)
  local out = {
    '#usda 1.0\n(\n    defaultPrim = "model"\n    doc = "hy3d-sandbox generated mesh"\n',
    '    metersPerUnit = 1\n    upAxis = "Y"\n)\n\n',
    'def Xform "model" (\n    kind = "component"\n)\n{\n',
    '    def Mesh "mesh" (\n        prepend apiSchemas = ["MaterialBindingAPI"]\n    )\n    {\n',
    format("        float3[] extent = [(%.6g, %.6g, %.6g), (%.6g, %.6g, %.6g)]\n", lo[1], lo[2], lo[3], hi[1], hi[2], hi[3]),
    "        int[] faceVertexCounts = [", rep("3", #m.idx // 3, ", "), "]\n",
    "        int[] faceVertexIndices = [", concat(m.idx, ", "), "]\n",
    format("        rel material:binding = </model/Looks/%s>\n", material),
    "        normal3f[] normals = [", usd_tuples(m.n, 3), '] (\n            interpolation = "vertex"\n        )\n',
    "        point3f[] points = [", usd_tuples(m.p, 3), "]\n",
  }
  if with_uvs ~= false then
    out[#out + 1] = "        texCoord2f[] primvars:st = ["
    out[#out + 1] = usd_tuples(m.t, 2)
    out[#out + 1] = '] (\n            interpolation = "vertex"\n        )\n'
  end
  out[#out + 1] = '        uniform token orientation = "rightHanded"\n'
  out[#out + 1] = '        uniform token subdivisionScheme = "none"\n    }\n\n'
  out[#out + 1] = format('    def Scope "Looks"\n    {\n        def Material "%s"\n        {\n', material)
  out[#out + 1] = format("            token outputs:surface.connect = </model/Looks/%s/surface.outputs:surface>\n\n", material)
  out[#out + 1] = '            def Shader "surface"\n            {\n'
  out[#out + 1] = '                uniform token info:id = "UsdPreviewSurface"\n'
  out[#out + 1] = format("                color3f inputs:diffuseColor = (%.4f, %.4f, %.4f)\n", color[1], color[2], color[3])
  out[#out + 1] = "                float inputs:metallic = 0\n                float inputs:roughness = 0.8\n"
  out[#out + 1] = "                token outputs:surface\n            }\n        }\n    }\n}\n"
  return concat(out)
end


return {
  glb = glb,
  obj = obj,
  mtl = mtl,
  stl = stl,
  fbx = fbx,
  usda = usda,
}
