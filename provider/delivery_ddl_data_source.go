package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/client"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

var (
	_ datasource.DataSource              = (*deliveryDDLDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*deliveryDDLDataSource)(nil)
)

// NewDeliveryDDLDataSource is the factory of tablestore_delivery_ddl.
func NewDeliveryDDLDataSource() datasource.DataSource { return &deliveryDDLDataSource{} }

type deliveryDDLDataSource struct {
	client *client.Client
}

type deliveryDDLModel struct {
	TableName types.String `tfsdk:"table_name"`
	TaskName  types.String `tfsdk:"task_name"`
	Dialect   types.String `tfsdk:"dialect"`
	Statement types.String `tfsdk:"statement"`
	Alter     types.String `tfsdk:"alter_statement"`
}

func (d *deliveryDDLDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_delivery_ddl"
}

func (d *deliveryDDLDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "The SQL statement that makes a delivery task's objects queryable from a lake engine, " +
			"built from the task's resolved columns and the partition folders of its prefix.",
		Attributes: map[string]schema.Attribute{
			"table_name": schema.StringAttribute{
				Description: "The task's source table.",
				Required:    true,
				Validators:  []validator.String{validTable},
			},
			"task_name": schema.StringAttribute{
				Description: "The task's name.",
				Required:    true,
				Validators:  []validator.String{validTaskName},
			},
			"dialect": schema.StringAttribute{
				Description: "`hive` (the default: `CREATE EXTERNAL TABLE` and `MSCK REPAIR TABLE`), `spark`, " +
					"`trino` or `duckdb`.",
				Optional:   true,
				Computed:   true,
				Validators: []validator.String{validDialect},
			},
			"statement": schema.StringAttribute{
				Description: "The statement(s) creating the lake table with the task's current columns, ready to run.",
				Computed:    true,
			},
			"alter_statement": schema.StringAttribute{
				Description: "For a lake table created before columns were appended to the task: the statement(s) " +
					"adding them (`ALTER TABLE … ADD COLUMNS` for Hive and Spark, one `ALTER TABLE … ADD COLUMN " +
					"IF NOT EXISTS` per column for Trino, the view again for DuckDB). Older objects read as nulls " +
					"in the new columns. Empty when no column was appended.",
				Computed: true,
			},
		},
	}
}

func (d *deliveryDDLDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.client = clientFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *deliveryDDLDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m deliveryDDLModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if m.Dialect.IsNull() {
		m.Dialect = types.StringValue(string(task.DialectHive))
	}
	table, name := m.TableName.ValueString(), m.TaskName.ValueString()
	ddl, err := d.client.GetDDL(ctx, table, name, task.Dialect(m.Dialect.ValueString()))
	if err != nil {
		addClientError(&resp.Diagnostics, "Reading the "+m.Dialect.ValueString()+" DDL of delivery task "+table+"/"+name, err)
		return
	}
	m.Statement = types.StringValue(ddl.Statement)
	m.Alter = types.StringValue(ddl.AlterStatement)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
